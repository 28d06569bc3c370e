"""docs/bad-inputs.md lists every case the tests prove (regenerate: ``make catalogue``)."""

from __future__ import annotations

from pathlib import Path

from tests.support.catalogue import COLLECTED, Case, documented, render

DOC = Path(__file__).parents[2] / "docs" / "bad-inputs.md"


def test_every_collected_case_is_in_the_catalogue() -> None:
    missing = sorted(set(COLLECTED.values()) - documented(DOC))
    assert not missing, f"run 'make catalogue' to add {missing}"


def test_the_catalogue_has_at_least_60_cases() -> None:
    assert len(documented(DOC)) >= 60


def test_render_escapes_table_cells(tmp_path: Path) -> None:
    text = render([Case("submit", "a | b", 1, "Error: x | y")])
    assert "a \\| b" in text and "`Error: x \\| y`" in text
    (tmp_path / "c.md").write_text(text, encoding="utf-8")
    assert documented(tmp_path / "c.md") == {("submit", "a | b")}
