"""Piped output uses the full width; a table never loses a column; errors are one line."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from tests.conftest import Numerpilot, numerpilot_process

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


@pytest.mark.parametrize("columns", [40, 50, 60, 80])
def test_a_narrow_terminal_wraps_names_never_numbers(
    synthetic_dir: Path, tmp_path: Path, columns: int
) -> None:
    """At 40-55 columns a long column name made the table wider than the terminal, which
    cut it off; piped lines carried the padding spaces."""
    from tests.conftest import numerpilot_process

    val = pd.read_parquet(synthetic_dir / "validation.parquet", columns=["era"])
    name = "a_really_long_model_column_name_for_a_narrow_terminal"
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({name: rng.random(len(val)), "p": rng.random(len(val))}, val.index)
    frame.to_parquet(tmp_path / "p.parquet")
    done = numerpilot_process("score", str(tmp_path / "p.parquet"), "--data",
                              str(synthetic_dir / "validation.parquet"), "-C", str(tmp_path),
                              COLUMNS=str(columns))  # fmt: skip
    assert done.code == 0, done.err
    lines = done.out.splitlines()
    assert "…" not in done.out and max(map(len, lines)) <= columns
    assert [line for line in lines if line != line.rstrip()] == []
    assert name in "".join("".join(lines).split()).replace("metric", "")  # folded, not cut
    mean = next(line for line in lines if line.lstrip().startswith("CORR mean"))
    assert all(re.fullmatch(r"-?\d\.\d{4}", v) for v in mean.split()[2:])  # -0.0030, whole


@pytest.mark.parametrize("columns", [40, 50, 60, 80])
def test_status_on_a_narrow_terminal_keeps_numbers_whole(
    monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    from datetime import UTC, datetime, timedelta

    import numerpilot.cli.render as render
    from numerpilot.api.rounds import RoundInfo
    from numerpilot.automation.status import ModelStatus, RoundStatus, StatusReport

    now = datetime(2025, 1, 7, 12, tzinfo=UTC)
    info = RoundInfo(900, now - timedelta(hours=1), now + timedelta(hours=2),
                     now + timedelta(days=1), now, target="target")  # fmt: skip
    rounds = [RoundStatus(899, "submitted", "s1", 0.012345, -0.004321, 0.0123),
              RoundStatus(900, "due")]  # fmt: skip
    model = ModelStatus("my_model_with_a_long_name", "id", 12.5, 0.0321, -0.0456, rounds)
    out = io.StringIO()
    monkeypatch.setattr(render, "console", Console(width=columns, file=out))
    render.render_status(StatusReport(info, [model]))
    text = out.getvalue()
    assert max(len(line) for line in text.splitlines()) <= columns
    assert all(line == line.rstrip() for line in text.splitlines())
    for number in ("+0.0123", "-0.0043", "+0.0321", "-0.0456", "12.50"):
        assert number in text, number  # never split across lines
    assert "…" not in text
    if columns <= 50:  # stacked: a row starts with "  - ", its wrapped lines further in
        lines = text.splitlines()
        rows = lines[lines.index("Recent rounds") + 1 :]
        assert rows[0].startswith("  - round 899") and len(rows) > 2, text
        assert all(line.startswith(("  - round", "    ")) for line in rows), text


def test_init_in_another_folder_says_how_to_run_there(
    numerpilot: Numerpilot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "newdir").mkdir()
    assert "then run: numerpilot run --demo -C newdir\n" in numerpilot("init", "newdir").out
    spaced = numerpilot("init", "my dir").out  # quoted once, as a shell takes it
    assert "then run: numerpilot run --demo -C 'my dir'\n" in spaced
    monkeypatch.chdir(tmp_path / "newdir")
    out = numerpilot("init", "--force").out
    assert "then run: numerpilot run --demo\n" in out and "-C" not in out


def test_a_list_of_columns_cut_short_says_how_many_more(tmp_path: Path) -> None:
    from numerpilot.errors import UsageError
    from numerpilot.scoring.io import parquet_model_column

    path = tmp_path / "benchmarks.parquet"
    columns = {f"v52_lgbm_{i}": np.arange(3.0) for i in range(9)}
    pd.DataFrame({"id": ["a", "b", "c"], **columns}).to_parquet(path)
    with pytest.raises(UsageError, match=r"v52_lgbm_5 … \(3 more\)\)"):
        parquet_model_column(path, None, "benchmark", "--benchmark-col")


def test_a_logged_warning_reads_like_the_commands_own(synthetic_dir: Path, tmp_path: Path) -> None:
    """Warnings logged by the library said 'WARNING numerpilot.scoring.align: ...' beside
    the commands' own 'Warning: ...' notes."""
    val = pd.read_parquet(synthetic_dir / "validation.parquet", columns=["era"])
    ids = [*val.index, "not_an_id"]
    pred = pd.DataFrame({"prediction": np.linspace(0, 1, len(ids))}, index=pd.Index(ids, name="id"))
    pred.to_parquet(tmp_path / "p.parquet")
    data = str(synthetic_dir / "validation.parquet")
    done = numerpilot_process(
        "score", str(tmp_path / "p.parquet"), "--data", data, "-C", str(tmp_path)
    )
    assert done.code == 0, done.err
    assert "Warning: 1 ids of the predictions are not in the data file" in done.err
    assert "numerpilot.scoring" not in done.err


def test_a_bug_shows_its_traceback_without_keys_and_exits_70(
    numerpilot: Numerpilot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception numerpilot does not expect (a bug) printed Python's own traceback, keys
    included, and exited 1, which a service told not to restart on 1 took for bad input."""
    secret = "SECRETKEY0123456789"
    monkeypatch.setenv("NUMERAI_PUBLIC_ID", "PUBLICID0123456789")
    monkeypatch.setenv("NUMERAI_SECRET_KEY", secret)

    def broken(path: Path) -> None:
        raise RuntimeError(f"a bug met Token PUBLICID0123456789${secret}")

    monkeypatch.setattr("numerpilot.workdir.load_config", broken)
    outcome = numerpilot("validate", "-C", str(tmp_path))
    assert outcome.code == 70
    assert "Traceback" in outcome.err and "RuntimeError: a bug met" in outcome.err
    assert secret not in outcome.err + outcome.out and "PUBLICID" not in outcome.err
    assert outcome.err.strip().splitlines()[-1].startswith("Error: numerpilot failed")


def test_clock_times_keep_their_seconds_only_where_there_are_some() -> None:
    """A sandbox round closes on a second, not a minute: "until 18:00" was 30 s wrong."""
    from datetime import UTC, datetime

    from numerpilot.words import clock_time

    on_the_minute = datetime(2026, 12, 5, 18, 0, tzinfo=UTC)
    assert clock_time(on_the_minute) == "Sat 18:00"
    assert clock_time(on_the_minute.replace(second=30)) == "Sat 18:00:30"
    assert clock_time(on_the_minute, day="%a %Y-%m-%d") == "Sat 2026-12-05 18:00"
