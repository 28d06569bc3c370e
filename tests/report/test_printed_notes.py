"""The notes under ``validate``'s table and ``submit``'s lines, piped with ``COLUMNS`` set:
wrapped like the table, but no line ends in the space it was wrapped at (they did)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

import numerpilot.cli.render as render
from numerpilot.pipeline.validate import ValidationReport
from numerpilot.scoring.per_era import PerEra
from numerpilot.scoring.report import ScoreReport

NOTES = (
    "MMC: 28 eras skipped (scored by CORR, but the meta model is missing for too many of "
    "their rows): 0205, 0206, 0207, 0208, 0209, 0210 …",
    "the first 4 validation eras (0201 to 0204) are not scored: their targets overlap "
    "train's last eras (train.embargo_eras)",
)


@pytest.mark.parametrize("columns", [40, 60, 80])
def test_wrapped_notes_keep_no_trailing_space(
    monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    eras = np.array(["0205", "0206", "0207"])
    scores = ScoreReport(("ensemble",), {"corr": PerEra(eras, np.array([[0.01], [0.02], [-0.01]]))},
                         notes=NOTES)  # fmt: skip
    out = io.StringIO()  # not a terminal: piped
    monkeypatch.setattr(render, "console", Console(width=columns, file=out))
    render.render_validation(ValidationReport(scores))
    lines = out.getvalue().splitlines()
    assert all(line == line.rstrip() for line in lines), lines
    assert all(len(line) <= columns for line in lines)
    text = " ".join(" ".join(lines).split())
    assert all(" ".join(note.split()) in text for note in NOTES)  # whole, only wrapped


def test_the_report_line_is_one_line_and_no_markup(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``Report: PATH (...)`` was wrapped at the console's width (a path split in two, a
    trailing space when piped) and read as markup (a folder named ``[x]`` vanished)."""
    page = tmp_path / "[x] runs" / "reports" / "validation.html"
    out = io.StringIO()
    monkeypatch.setattr(render, "console", Console(width=40, file=out))
    render.print_report_line(page, "per-era scores: validation.json")
    assert out.getvalue() == f"Report: {page} (per-era scores: validation.json)\n"
