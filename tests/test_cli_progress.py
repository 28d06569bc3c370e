"""Progress bars on a terminal of any width: a number is never cut, nor a line wrapped."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from numerpilot.cli.bars import RichProgressReporter

DESCRIPTION = "Refitting target_teager2b_20.seed2 on every era"


def _frames(out: io.StringIO) -> list[str]:
    """The lines a live bar drew on the terminal, escape codes removed."""
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
    return [line for line in re.split(r"[\r\n]", text) if line.strip()]


def _terminal(width: int) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=width, color_system=None), out


@pytest.mark.parametrize("width", [40, 60, 80, 120, 300])
def test_a_members_bar_keeps_its_numbers_whole(width: int) -> None:
    console, out = _terminal(width)
    with RichProgressReporter(console).scored_task(DESCRIPTION, 2000) as update:
        update(1234, 0.0123)
    drawn = [line for line in _frames(out) if "1234" in line]
    assert drawn, out.getvalue()
    for line in drawn:
        assert "1234/2000" in line and re.search(r"-:--:--|\d:\d\d:\d\d", line), line
        assert "holdout 0.0123" in line, line
        assert len(line) <= width, line


@pytest.mark.parametrize("width", [40, 80, 300])
def test_a_steps_bar_keeps_its_numbers_whole(width: int) -> None:
    console, out = _terminal(width)
    with RichProgressReporter(console).task("Predicting validation.parquet", 3) as advance:
        advance(1)
    drawn = [line for line in _frames(out) if "/3" in line]
    assert drawn, out.getvalue()
    for line in drawn:
        assert re.search(r"\b[0-3]/3 \d:\d\d:\d\d", line) and len(line) <= width, line


def test_a_long_description_is_cut_on_one_line_not_wrapped() -> None:
    console, out = _terminal(40)
    with RichProgressReporter(console).scored_task(DESCRIPTION, 2000) as update:
        update(5, None)
    drawn = [line for line in _frames(out) if "/2000" in line]
    assert drawn and all("…" in line for line in drawn), drawn
    assert "on every era" not in "".join(drawn)  # cut, not wrapped onto a next line
