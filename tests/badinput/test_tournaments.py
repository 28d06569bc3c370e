"""Bad Signals and Crypto submissions (``submit --file``): one line, exit 1, nothing
uploaded, nothing recorded."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.conftest import Numerpilot, numerpilot_process
from tests.submission.test_tournaments_e2e import ID_COLUMN, TID, keys, universe, workdir
from tests.support.catalogue import Refused

from numerpilot.sandbox import DEMO_PUBLIC_ID, DEMO_SECRET_KEY, SandboxServer
from numerpilot.submission.ledger import Ledger

__all__ = ["keys"]

Maker = Callable[[pd.Series], pd.DataFrame]


def _values(n: int) -> np.ndarray:
    return np.linspace(0.02, 0.98, n)


def _frame(id_col: str, ids: pd.Series | list[str], value_col: str = "signal") -> pd.DataFrame:
    ids = list(ids)
    return pd.DataFrame({id_col: ids, value_col: _values(len(ids))})


def _cases(t: str) -> list[tuple[str, Maker, tuple[str, ...]]]:
    col = ID_COLUMN[t]
    other = "crypto" if t == "signals" else "signals"
    with_nan = lambda ids: _frame(col, ids).assign(signal=lambda f: f.signal.where(f.index != 5))  # noqa: E731
    return [
        (f"{t}: a wrong id column", lambda ids: _frame("id", ids),
         ("headers must be one of", "(the file's columns: 'id', 'signal')")),
        (f"{t}: 99 ids of the live universe", lambda ids: _frame(col, ids[:99]),
         ("Not enough stocks", "99 distinct", "at least 100")),
        (f"{t}: duplicated ids", lambda ids: _frame(col, [*ids[:120], *ids[:5]]),
         ("Duplicates detected", "5 duplicated")),
        (f"{t}: most ids outside the live universe",
         lambda ids: _frame(col, [*ids[:60], *(f"NOPE{i}" for i in range(80))]),
         ("Not enough stocks", "80 outside the live universe")),
        (f"{t}: a NaN signal", with_nan, ("must not contain NaNs", "1 empty, e.g. for")),
        (f"{t}: a file of the {other} tournament", lambda ids: _frame(ID_COLUMN[other], ids),
         ("headers must be one of", f"this is a {other.capitalize()} file", "tournament")),
        (f"{t}: a Classic file (id, prediction)", lambda ids: _frame("id", ids, "prediction"),
         ("headers must be one of", "this is a Classic file")),
        (f"{t}: ids in lower case", lambda ids: _frame(col, [s.lower() for s in ids]),
         ("only differ from live ids in case or spaces", "write the ids as the live universe")),
        (f"{t}: ids padded with spaces", lambda ids: _frame(col, [f" {s} " for s in ids]),
         ("only differ from live ids in case or spaces",)),
        (f"{t}: the value column named 'score'", lambda ids: _frame(col, ids, "score"),
         ("name the value column 'prediction' or 'signal', not 'score'",)),
        (f"{t}: the value column first", lambda ids: _frame(col, ids)[["signal", col]],
         (f"put the id column first: {col!r}, then 'signal'",)),
        (f"{t}: a capitalised id column", lambda ids: _frame(col.capitalize(), ids),
         (f"rename {col.capitalize()!r} to {col!r}",)),
        (f"{t}: an extra column", lambda ids: _frame(col, ids).assign(weight=1.0),
         ("remove the column 'weight'",)),
        (f"{t}: values in percent",
         lambda ids: _frame(col, ids).assign(signal=_values(len(ids)) * 100),
         ("outside [0, 1], e.g. 2.0", "rank(pct=True)")),
    ]  # fmt: skip


CASES = [
    pytest.param(t, make, fragments, id=case, marks=pytest.mark.bad_input("submit", case))
    for t in ("signals", "crypto")
    for case, make, fragments in _cases(t)
]


@pytest.mark.parametrize(("tournament", "make", "fragments"), CASES)
def test_bad_signal_file(
    keys: SandboxServer,
    numerpilot: Numerpilot,
    refused: Refused,
    tmp_path: Path,
    tournament: str,
    make: Maker,
    fragments: tuple[str, ...],
) -> None:
    root = workdir(tmp_path / "wd", tournament)
    path = tmp_path / "my_signal.csv"
    make(universe(keys, tournament)).to_csv(path, index=False)
    before = path.read_bytes()
    line = refused(numerpilot("submit", "--file", str(path), "-C", str(root)), 1, *fragments)
    assert path.name in line
    assert keys.received() == [] and not (root / "state.db").exists()
    assert not (root / "submissions").exists() and path.read_bytes() == before


Writer = Callable[[pd.DataFrame, Path], Path]


def _workbook(frame: pd.DataFrame, folder: Path) -> Path:
    """An Excel workbook (.xlsx: a zip archive of XML parts) holding the signal."""
    path = folder / "my_signal.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", frame.to_csv(index=False))
    return path


def _written(name: str, write: Callable[[pd.DataFrame, Path], object]) -> Writer:
    def writer(frame: pd.DataFrame, folder: Path) -> Path:
        write(frame, folder / name)
        return folder / name

    return writer


def _decimal_commas(frame: pd.DataFrame, path: Path) -> None:
    text = frame.assign(signal=frame.signal.map(lambda v: f"{v:.4f}".replace(".", ",")))
    text.to_csv(path, index=False)


WRITTEN: list[tuple[str, Writer, tuple[str, ...]]] = [
    ("a CSV separated by semicolons",
     _written("s.csv", lambda f, p: f.to_csv(p, sep=";", index=False)),
     ("separated by semicolons", "',' between columns")),
    ("a CSV separated by tabs", _written("s.csv", lambda f, p: f.to_csv(p, sep="\t", index=False)),
     ("separated by tabs",)),
    ("a CSV with pandas' index as its first column", _written("s.csv", lambda f, p: f.to_csv(p)),
     ("'Unnamed: 0' is the row index pandas wrote", "index=False")),
    ("numbers with decimal commas", _written("s.csv", _decimal_commas),
     ("holds text", "'.' as the decimal point")),
    ("an Excel workbook", _workbook, ("spreadsheet workbook", "CSV (Comma delimited)")),
    ("UTF-16 text", _written("s.csv", lambda f, p: p.write_text(f.to_csv(index=False),
                                                               encoding="utf-16")),
     ("is UTF-16 text", "iconv -f UTF-16 -t UTF-8")),
    ("parquet with the ids as its unnamed index",
     _written("s.parquet", lambda f, p: f.set_index(f.columns[0]).rename_axis(None).to_parquet(p)),
     ("the parquet file's unnamed index", "reset_index()")),
]  # fmt: skip


WRITTEN_CASES = [
    pytest.param(t, write, fragments, id=case, marks=pytest.mark.bad_input("submit", case))
    for t in ("signals", "crypto")
    for case, write, fragments in ((f"{t}: {c}", w, f) for c, w, f in WRITTEN)
]


@pytest.mark.parametrize(("tournament", "write", "fragments"), WRITTEN_CASES)
def test_signal_file_as_other_tools_write_it(
    keys: SandboxServer,
    numerpilot: Numerpilot,
    refused: Refused,
    tmp_path: Path,
    tournament: str,
    write: Writer,
    fragments: tuple[str, ...],
) -> None:
    """Files as spreadsheets and pandas defaults write them: the line says what to change."""
    root = workdir(tmp_path / "wd", tournament)
    path = write(_frame(ID_COLUMN[tournament], universe(keys, tournament)), tmp_path)
    before = path.read_bytes()
    line = refused(numerpilot("submit", "--file", str(path), "-C", str(root)), 1, *fragments)
    assert path.name in line
    assert keys.received() == [] and not (root / "state.db").exists()
    assert not (root / "submissions").exists() and path.read_bytes() == before


def _submitted_last_round(keys: SandboxServer, numerpilot: Numerpilot, tmp_path: Path) -> Path:
    """A Signals work directory that submitted in numerai_ticker last round (the clock is
    now in the next one)."""
    root = workdir(tmp_path / "wd", "signals")
    _frame("numerai_ticker", universe(keys, "signals")).to_csv(tmp_path / "a.csv", index=False)
    assert numerpilot("submit", "--file", str(tmp_path / "a.csv"), "-C", str(root)).code == 0
    keys.clock.advance(timedelta(days=1))
    return root


@pytest.mark.bad_input("submit", "signals: the round closed")
def test_signals_round_closed(
    keys: SandboxServer, numerpilot: Numerpilot, refused: Refused, tmp_path: Path
) -> None:
    """Told to run 'numerpilot download' and 'numerpilot predict', Classic's way, for a
    signal computed elsewhere."""
    root = workdir(tmp_path / "wd", "signals")
    path = tmp_path / "my_signal.csv"
    _frame("numerai_ticker", universe(keys, "signals")).to_csv(path, index=False)
    keys.clock.advance(timedelta(hours=8))  # past the staking close and the late window
    out = numerpilot("submit", "--file", str(path), "-C", str(root))
    line = refused(out, 1, "no longer takes submissions", "write your signal for its live universe")
    assert "download' and 'numerpilot predict" not in line and keys.received() == []


@pytest.mark.bad_input("submit", "signals: churn above the limit against the last submission")
def test_churn_above_the_limit(
    keys: SandboxServer, numerpilot: Numerpilot, refused: Refused, tmp_path: Path
) -> None:
    root = _submitted_last_round(keys, numerpilot, tmp_path)
    ids = universe(keys, "signals")
    _frame("numerai_ticker", ids[::-1]).to_csv(tmp_path / "b.csv", index=False)
    out = numerpilot("submit", "--file", str(tmp_path / "b.csv"), "-C", str(root))
    refused(out, 1, "churn 200.0% >= 15.0%", "turnover", "--allow-churn")
    assert len(keys.received()) == 1 and len(Ledger(root / "state.db").history()) == 1


@pytest.mark.bad_input("submit", "signals: the last submission used another kind of ticker")
def test_churn_against_other_tickers(
    keys: SandboxServer, numerpilot: Numerpilot, refused: Refused, tmp_path: Path
) -> None:
    root = _submitted_last_round(keys, numerpilot, tmp_path)
    number = keys.state.current().number  # this round in FIGI
    figis = keys.state.tickers[TID["signals"]].universe(number)["composite_figi"]
    _frame("composite_figi", figis).to_csv(tmp_path / "b.csv", index=False)
    out = numerpilot("submit", "--file", str(tmp_path / "b.csv"), "-C", str(root))
    refused(out, 1, "'numerai_ticker' tickers", "cannot be compared", "--allow-churn")
    assert len(keys.received()) == 1
    out = numerpilot("submit", "--file", str(tmp_path / "b.csv"), "--allow-churn", "-C", str(root))
    assert out.code == 0 and "churn not measured" in out.out, out.err
    assert len(keys.received()) == 2


@pytest.mark.bad_input("run", "crypto: the data has no features to train on")
def test_crypto_run(
    keys: SandboxServer, numerpilot: Numerpilot, refused: Refused, tmp_path: Path
) -> None:
    root = workdir(tmp_path / "wd", "crypto")
    refused(numerpilot("run", "-C", str(root)), 1, "no features", "submit --file",
            "signal_file")  # fmt: skip
    assert keys.received() == [] and not (root / "data").exists()


@pytest.mark.bad_input("train", "crypto: the data has no features to train on")
def test_crypto_train(numerpilot: Numerpilot, refused: Refused, tmp_path: Path) -> None:
    root = workdir(tmp_path / "wd", "crypto")
    refused(numerpilot("train", "-C", str(root)), 1, "no features", "submit --file")
    assert not (root / "models").exists()


@pytest.mark.bad_input("submit", "crypto: no `--file` (numerpilot makes no Crypto predictions)")
def test_crypto_submit_without_a_file(
    keys: SandboxServer, numerpilot: Numerpilot, refused: Refused, tmp_path: Path
) -> None:
    root = workdir(tmp_path / "wd", "crypto")
    line = refused(numerpilot("submit", "-C", str(root)), 1, "no Crypto model", "--file FILE")
    assert "predict' first" not in line and keys.received() == []


@pytest.mark.bad_input("submit", "signals: an old-format file with last week's rows too")
def test_signals_rows_of_several_dates(
    keys: SandboxServer, numerpilot: Numerpilot, refused: Refused, tmp_path: Path
) -> None:
    """Rows of two dates repeat every ticker: the line says why, and numerai-tools'
    data_type warning does not come first."""
    root = workdir(tmp_path / "wd", "signals")
    live = _frame("numerai_ticker", universe(keys, "signals"))
    rows = [live.assign(friday_date=d, data_type=k) for d, k in ((20250103, "validation"),
                                                                 (20250110, "live"))]  # fmt: skip
    path = tmp_path / "my_signal.csv"
    pd.concat(rows).to_csv(path, index=False)
    refused(numerpilot("submit", "--file", str(path), "-C", str(root)), 1, "Duplicates detected",
            "2 data_type values ('validation', 'live')", "submit only the live rows")  # fmt: skip
    assert keys.received() == [] and not (root / "state.db").exists()


@pytest.mark.bad_input("daemon", "crypto: no `[submission] signal_file` (nothing to submit)")
def test_crypto_daemon_without_a_signal_file(
    keys: SandboxServer, numerpilot: Numerpilot, refused: Refused, tmp_path: Path
) -> None:
    """It could only fail every round (numerpilot trains nothing for Crypto): refused at
    start, as a configuration error (exit 1: a service is not restarted)."""
    root = workdir(tmp_path / "wd", "crypto")
    refused(numerpilot("daemon", "--once", "-C", str(root)), 1, "signal_file",
            'tournament = "crypto"', "numerpilot.toml")  # fmt: skip
    assert keys.received() == [] and not (root / "data").exists()


@pytest.mark.bad_input(
    "submit", "Signals: ids outside the universe, and a model name the account lacks"
)
def test_a_refusal_after_the_universe_warning_is_one_line(
    keys: SandboxServer, refused: Refused, tmp_path: Path
) -> None:
    """The warning about ids Numerai ignores came before the refusal: two lines on stderr
    for a file that was not sent (the churn refusal did the same). In a process of its own,
    as a user runs it: its stderr is the terminal's."""
    root = workdir(tmp_path / "wd", "signals")
    path = tmp_path / "my_signal.csv"
    _frame(ID_COLUMN["signals"], [*universe(keys, "signals"), "NOPE1"]).to_csv(path, index=False)
    env = {"NUMERPILOT_API_URL": keys.url, "NUMERAI_PUBLIC_ID": DEMO_PUBLIC_ID,
           "NUMERAI_SECRET_KEY": DEMO_SECRET_KEY}  # fmt: skip
    args = ("submit", "--file", str(path), "-C", str(root))
    refused(numerpilot_process(*args, "-m", "nope", **env), 1, "Unknown signals model(s) nope")
    outcome = numerpilot_process(*args, "--dry-run", **env)
    assert outcome.code == 0 and "1 ticker is not in this round's live universe" in outcome.err
