"""``status`` on a terminal too narrow for its tables: a row's ``column value`` pairs are
wrapped between pairs, never inside one (``MMC`` at a line's end, its value on the next)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

import numerpilot.cli.render as render
from numerpilot.api.rounds import RoundInfo
from numerpilot.automation.status import ModelStatus, RoundStatus, StatusReport

COLUMNS = ("round", "model", "state", "CORR", "MMC", "payout / stake", "stake (NMR)",
           "pending payout", "paid", "rounds scored", "CORR mean", "CORR sharpe",
           "CORR max drawdown", "MMC mean", "payout sum")  # fmt: skip


def _report() -> StatusReport:
    now = datetime(2025, 1, 7, 12, tzinfo=UTC)
    info = RoundInfo(900, now - timedelta(hours=1), now + timedelta(hours=2),
                     now + timedelta(days=1), now, target="target")  # fmt: skip
    rounds = [RoundStatus(900, "due"), RoundStatus(899, "missed"),
              RoundStatus(898, "submitted", "s1", 0.012345, -0.004321, 0.0123)]  # fmt: skip
    models = [ModelStatus("sandbox_model", "id1", 25.0, None, None, rounds),
              ModelStatus("sandbox_model_2", "id2", None, None, None, rounds)]  # fmt: skip
    return StatusReport(info, models)


@pytest.mark.parametrize("columns", range(36, 66, 2))
def test_a_pair_is_never_split_and_a_broken_line_says_it_goes_on(
    monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    out = io.StringIO()
    monkeypatch.setattr(render, "console", Console(width=columns, file=out))
    render.render_status(_report())
    lines = out.getvalue().splitlines()
    stacked = [i for i, line in enumerate(lines) if line.startswith("  - ")]
    assert stacked, out.getvalue()  # too narrow for the rounds table at every width here
    for i in stacked:
        row = [lines[i]]
        while i + len(row) < len(lines) and lines[i + len(row)].startswith("    "):
            row.append(lines[i + len(row)])
        for line in row:
            assert len(line) <= columns, line
            pairs = line.strip().removeprefix("- ").rstrip(";").split("; ")
            # every piece a whole pair: a column's name, then its value
            assert all(p.startswith(tuple(f"{c} " for c in COLUMNS)) for p in pairs), line
        assert all(line.endswith(";") for line in row[:-1]), out.getvalue()
        assert not row[-1].endswith(";")


@pytest.mark.parametrize("columns", range(70, 82))
def test_a_table_is_printed_only_where_it_fits_whole(
    monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    """Between the table's width less its column dividers and its width (72 to 75 columns
    for these rounds), the rounds table was printed squeezed: ``sandbox_model_`` on one
    line, ``2`` on the next. Now a row is either whole on its line, or stacked."""
    out = io.StringIO()
    monkeypatch.setattr(render, "console", Console(width=columns, file=out))
    render.render_status(_report())
    text = out.getvalue()  # each model: in the models table, the scores, its 3 rounds
    assert text.count("sandbox_model_2") == 5 and text.count("sandbox_model") == 10, text
