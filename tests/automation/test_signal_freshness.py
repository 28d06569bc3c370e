"""Which ``[submission] signal_file`` is this round's: one written before the round opened
is an earlier round's signal (never sent: the daemon was down), also when it was written
after that earlier round's universe arrived here."""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime, timedelta
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
from numerpilot.submission.round_checks import SignalFileNotReadyError, check_not_stale
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


def _fast_round(number: int, server_since_open: float) -> tuple[RoundInfo, datetime]:
    """A round of a sandbox whose clock runs fast, and the server's now."""
    opened = datetime(2025, 1, 7, 12, tzinfo=UTC)  # a Tuesday
    now = opened + timedelta(seconds=server_since_open)
    return RoundInfo(number, opened, opened + timedelta(hours=1), opened + timedelta(hours=7),
                     now), now  # fmt: skip


@pytest.mark.parametrize(
    ("rate", "before_open", "fresh"),
    [(1.0, 119.0, True), (1.0, 121.5, False), (60.0, 1.9, True), (60.0, 2.1, False)],
    ids=["119 s", "121.5 s", "114 server s", "126 server s"],
)
def test_the_open_has_120_server_seconds_of_slack(
    tmp_path: Path, rate: float, before_open: float, fresh: bool
) -> None:
    """As the daemon calls it (its server clock's now and rate): a file written up to 120
    server seconds before the open is this round's (a job started a little early)."""
    signal = tmp_path / "sig.csv"
    signal.write_text("symbol,signal\nC0001,0.5\n")
    info, now = _fast_round(901, server_since_open=60.0 * rate)  # a real minute ago
    real_since_open = 60.0
    _backdate(signal, real_since_open + before_open)
    ledger = Ledger(tmp_path / "state.db")
    if fresh:
        check_not_stale(ledger, "crypto", signal, info, now=now, rate=rate)
        return
    with pytest.raises(SignalFileNotReadyError, match="before round 901 opened"):
        check_not_stale(ledger, "crypto", signal, info, now=now, rate=rate)


def test_the_refusal_tells_the_time_on_the_servers_clock(tmp_path: Path) -> None:
    """On a --speed 3600 sandbox a file written 19.5 real seconds before the open was
    written 19.5 server hours before it: the refusal said "20 s" and this machine's time."""
    signal = tmp_path / "sig.csv"
    signal.write_text("symbol,signal\nC0001,0.5\n")
    info, now = _fast_round(901, server_since_open=3600.0)  # one real second ago
    _backdate(signal, 1.0 + 19.5)
    with pytest.raises(SignalFileNotReadyError) as caught:
        check_not_stale(Ledger(tmp_path / "state.db"), "crypto", signal, info, now=now,
                        rate=3600.0)  # fmt: skip
    message = str(caught.value)
    assert "was last written 19.5 h before round 901 opened (at Mon 16:" in message, message
    assert "UTC on the server's clock; its file time is read on this machine's clock)" in message
    assert re.search(r"at Mon 16:(29:[45]\d|30:00) UTC", message), message
    assert message.endswith(
        "(if it is round 901's after all, e.g. a copy that kept another machine's time "
        f"(rsync -t, cp -p): touch {signal})."
    )
