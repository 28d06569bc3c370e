"""``submissions/`` holds the Signals/Crypto files that were sent (or may have been): also
after a ``submit`` interrupted (Ctrl-C) or killed (SIGKILL) between making its copy and
uploading it. The process is held at a known point, never timed."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from tests.badinput.conftest import interrupted
from tests.conftest import Numerpilot
from tests.submission.test_tournaments_e2e import keys, signal_file, universe, workdir
from tests.support.catalogue import Outcome

from numerpilot.sandbox import DEMO_PUBLIC_ID, DEMO_SECRET_KEY, SandboxServer
from numerpilot.submission.ledger import Ledger

__all__ = ["keys"]

#: After the copy under submissions/ is made, before the ledger or Numerai hear of it.
BEFORE_UPLOAD = "numerpilot.submission.submit:submit_once"


def _signalled(sandbox: SandboxServer, signum: int, *args: str, tmp_path: Path) -> Outcome:
    """``numerpilot ARGS`` against the sandbox, held before its upload, sent ``signum``."""
    keys = {"NUMERAI_PUBLIC_ID": DEMO_PUBLIC_ID, "NUMERAI_SECRET_KEY": DEMO_SECRET_KEY}
    return interrupted(BEFORE_UPLOAD, *args, tmp_path=tmp_path, signum=signum,
                       NUMERPILOT_API_URL=sandbox.url, **keys)  # fmt: skip


@pytest.mark.parametrize("tournament", ["signals", "crypto"])
def test_ctrl_c_before_the_upload_keeps_no_copy(
    keys: SandboxServer, tmp_path: Path, tournament: str
) -> None:
    root = workdir(tmp_path / "wd", tournament)
    path = signal_file(tmp_path / "a.csv", tournament, universe(keys, tournament))
    outcome = _signalled(keys, signal.SIGINT, "submit", "--file", str(path), "-C", str(root),
                         tmp_path=tmp_path)  # fmt: skip
    assert outcome.code == 130 and outcome.err.strip() == "Interrupted.", outcome.err
    assert keys.received() == [] and Ledger(root / "state.db").history() == []
    assert list((root / "submissions").glob("*")) == []


@pytest.mark.parametrize("tournament", ["signals", "crypto"])
def test_a_copy_left_by_a_killed_submit_is_not_kept_once_nothing_sends_it(
    keys: SandboxServer, numerpilot: Numerpilot, tmp_path: Path, tournament: str
) -> None:
    root = workdir(tmp_path / "wd", tournament)
    ids = universe(keys, tournament)
    first = signal_file(tmp_path / "a.csv", tournament, ids, seed=1)
    assert numerpilot("submit", "--file", str(first), "-C", str(root)).code == 0
    (kept,) = (root / "submissions").iterdir()
    second = signal_file(tmp_path / "b.csv", tournament, ids, seed=2)
    killed = _signalled(keys, signal.SIGKILL, "submit", "--file", str(second), "--force",
                        "-C", str(root), tmp_path=tmp_path)  # fmt: skip
    assert killed.code == -signal.SIGKILL, killed
    assert len(keys.received()) == 1
    again = numerpilot("submit", "--file", str(second), "-C", str(root))
    assert again.code == 0 and "already submitted" in again.out, (again.out, again.err)
    assert list((root / "submissions").iterdir()) == [kept], again  # only what was sent
    assert len(keys.received()) == 1


def test_the_log_names_the_users_file_not_the_copy_kept_of_it(
    keys: SandboxServer, numerpilot: Numerpilot, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """The daemon's log said "submitted signals-r601-3f2a….csv", a file the user never wrote."""
    root = workdir(tmp_path / "wd", "signals")
    path = signal_file(tmp_path / "mine.csv", "signals", universe(keys, "signals"))
    with caplog.at_level("INFO", logger="numerpilot.submission.once"):
        assert numerpilot("submit", "--file", str(path), "-C", str(root)).code == 0
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("submitted")]
    assert line.startswith("submitted mine.csv for ")
    assert [p.name for p in (root / "submissions").iterdir()] != ["mine.csv"]  # a kept copy


@pytest.mark.parametrize(
    ("name", "parquet"),
    [("UPPER.PARQUET", True), ("parquet_named.csv", True), ("no_suffix", False),
     ("x" * 230 + ".csv", False)],
    ids=["upper-case-suffix", "parquet-named-csv", "no-suffix", "a-long-name"],
)  # fmt: skip
def test_the_copy_uploaded_is_named_by_its_format(
    keys: SandboxServer, numerpilot: Numerpilot, tmp_path: Path, name: str, parquet: bool
) -> None:
    """The kept copy, which is the file uploaded, kept the user's name: 'UPPER.PARQUET'
    passed the dry run and Numerai then read it as CSV (exit 3); a 230-character name
    passed the dry run and failed as too long for a file name."""
    import pandas as pd

    root = workdir(tmp_path / "wd", "signals")
    written = signal_file(tmp_path / "signal.csv", "signals", universe(keys, "signals"))
    path = tmp_path / name
    if parquet:
        pd.read_csv(written).to_parquet(path, index=False)
    else:
        written.rename(path)
    outcome = numerpilot("submit", "--file", str(path), "-C", str(root))
    assert outcome.code == 0, outcome.err
    (kept,) = (root / "submissions").iterdir()
    assert kept.suffix == (".parquet" if parquet else ".csv") and len(kept.name) < 120
    assert len(keys.received()) == 1
