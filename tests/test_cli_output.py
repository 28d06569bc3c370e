"""Piped output uses the full width; a table never loses a column; errors are one line."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from tests.conftest import Numerpilot

from numerpilot.cli.render import render_tables
from numerpilot.kernel.eras import EraIndex
from numerpilot.scoring.report import score_frame

NAMES = [f"model_number_{i}" for i in range(8)]


@pytest.fixture
def eight_columns(synthetic_dir: Path, tmp_path: Path) -> Path:
    val = pd.read_parquet(synthetic_dir / "validation.parquet", columns=["era"])
    rng = np.random.default_rng(0)
    path = tmp_path / "p8.parquet"
    pd.DataFrame({n: rng.random(len(val)) for n in NAMES}, index=val.index).to_parquet(path)
    return path


def test_piped_score_shows_every_column_on_one_line(
    numerpilot: Numerpilot, synthetic_dir: Path, eight_columns: Path, tmp_path: Path
) -> None:
    done = numerpilot("score", str(eight_columns), "--data",
                      str(synthetic_dir / "validation.parquet"), "-C", str(tmp_path))  # fmt: skip
    assert done.code == 0, done.err
    header = next(line for line in done.out.splitlines() if "metric" in line)
    assert all(name in header for name in NAMES)


def test_a_narrow_terminal_gets_more_tables_not_fewer_columns() -> None:
    rng = np.random.default_rng(1)
    eras = np.repeat(np.array([f"{i:04d}" for i in range(12)]), 50)
    report = score_frame(rng.random((len(eras), 8)), rng.random(len(eras)),
                         EraIndex.from_eras(eras), columns=NAMES)  # fmt: skip
    console = Console(width=80, record=True, file=io.StringIO())
    tables = render_tables(report, "Scores", width=80)
    assert len(tables) > 1
    for table in tables:
        console.print(table)
    text = console.export_text()
    assert all(name in text for name in NAMES)
    assert "(columns 1-" in text and "of 8)" in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_one_narrow_column_keeps_its_title_on_one_line() -> None:
    """A one-column table was narrower than its title, which wrapped (piped too)."""
    rng = np.random.default_rng(2)
    eras = np.repeat(np.array([f"{i:04d}" for i in range(12)]), 50)
    report = score_frame(rng.random((len(eras), 1)), rng.random(len(eras)),
                         EraIndex.from_eras(eras), columns=["p"])  # fmt: skip
    console = Console(width=200, record=True, file=io.StringIO())
    (table,) = render_tables(report, width=200)
    console.print(table)
    assert console.export_text().splitlines()[0].strip() == (
        "Per-era scores (numerai-tools definitions)"
    )


def test_a_long_error_stays_on_one_line(numerpilot: Numerpilot, tmp_path: Path) -> None:
    deep = tmp_path / ("a-very-long-folder-name-" * 8)
    deep.mkdir()
    done = numerpilot("train", "-C", str(deep))
    assert done.code == 1 and len(done.err.strip().splitlines()) == 1
