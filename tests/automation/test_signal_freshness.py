"""Which ``[submission] signal_file`` is this round's: one written before the round opened
is an earlier round's signal (never sent: the daemon was down), also when it was written
after that earlier round's universe arrived here."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.automation.conftest import DAEMON_CONFIG

from numerpilot.api.client import NumeraiClient
from numerpilot.api.rounds import RoundInfo
from numerpilot.automation.daemon import Daemon
from numerpilot.config_file import load_config
from numerpilot.credentials import Credentials
from numerpilot.data.download import download_dataset
from numerpilot.sandbox import SandboxServer
from numerpilot.sandbox.state import CRYPTO
from numerpilot.submission.ledger import Ledger
from numerpilot.submission.submit import SignalFileNotReadyError, check_not_stale
from numerpilot.workdir import Workdir

CONFIG = DAEMON_CONFIG.replace(
    'models = ["sandbox_model", "sandbox_model_2"]',
    'tournament = "crypto"\nmodels = ["sandbox_crypto"]\nsignal_file = "sig.csv"',
)


def _backdate(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def _write_signal(sandbox: SandboxServer, path: Path) -> None:
    symbols = sandbox.state.tickers[CRYPTO].universe(sandbox.state.current().number).symbol
    values = np.random.default_rng(0).uniform(0.01, 0.99, len(symbols))
    pd.DataFrame({"symbol": symbols, "signal": values}).to_csv(path, index=False)


def test_a_signal_written_in_the_last_round_and_never_sent_is_not_this_rounds(
    tmp_path: Path, sandbox: SandboxServer, creds: Credentials
) -> None:
    """Round N's universe arrived 3 h ago, the job wrote its signal 2 h ago, the daemon was
    down; in round N+1 (opened 5 minutes ago) that file is round N's, not N+1's."""
    client = NumeraiClient(creds, sandbox.url, "crypto", timeout=1.0, retries=4, backoff=0.05)
    work = Workdir(tmp_path / "wd")
    work.root.mkdir()
    work.config_path.write_text(CONFIG)
    folder = download_dataset(work, load_config(work.config_path), client, live_only=True)
    _backdate(folder / "live_universe.parquet", 3 * 3600)  # round N's universe: 3 h ago
    signal = work.root / "sig.csv"
    _write_signal(sandbox, signal)
    _backdate(signal, 2 * 3600)  # written in round N, after its universe; never sent
    opened = sandbox.state.current().number
    sandbox.clock.advance(timedelta(days=1))  # round N+1, open for a few minutes
    assert sandbox.state.current().number == opened + 1
    runner = Daemon(work, load_config(work.config_path), client, seed=0)
    waiting = runner.pass_once()
    assert waiting.results == [] and sandbox.state.submissions == []
    sandbox.clock.advance(timedelta(minutes=30))  # half of the staking window: it failed
    stale = runner.pass_once()
    assert stale.results == [] and sandbox.state.submissions == []
    (message,) = stale.failures
    assert f"before round {opened + 1} opened" in message, message
    assert "touch" in message and "sig.csv" in message
    os.utime(signal)  # the job ran for this round
    fresh = runner.pass_once()
    assert [r.outcome for r in fresh.results] == ["uploaded"], fresh.failures
    assert [r.state for r in Ledger(work.state_db).history()] == ["submitted"]


def _round(number: int, opened_ago: float) -> RoundInfo:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    opened = now - timedelta(seconds=opened_ago)
    return RoundInfo(number, opened, opened + timedelta(hours=1), opened + timedelta(hours=7), now)


@pytest.mark.parametrize(
    ("written_ago", "fresh"),
    [(10 * 60, False), (4 * 60, True), (60, True), (0, True)],
)
def test_a_signal_is_this_rounds_when_written_after_the_round_opened(
    tmp_path: Path, written_ago: float, fresh: bool
) -> None:
    """The round opened 5 minutes ago: a file written 10 minutes ago is an earlier round's;
    one written since the open (give or take the check's slack) is this round's."""
    signal = tmp_path / "sig.csv"
    signal.write_text("symbol,signal\nC0001,0.5\n")
    _backdate(signal, written_ago)
    ledger = Ledger(tmp_path / "state.db")
    info = _round(870, opened_ago=5 * 60)
    if fresh:
        check_not_stale(ledger, "crypto", signal, info)
        return
    with pytest.raises(SignalFileNotReadyError, match="before round 870 opened") as caught:
        check_not_stale(ledger, "crypto", signal, info)
    assert "5 min before round 870" in str(caught.value)
