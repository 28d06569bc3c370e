"""The daemon plays Signals (trains, predicts the live universe, submits) and Crypto (a
signal file written by the user's own job), each exactly once per round."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.automation.conftest import DAEMON_CONFIG

from numerpilot.api.client import NumeraiClient
from numerpilot.automation.daemon import Daemon
from numerpilot.config_file import load_config
from numerpilot.credentials import Credentials
from numerpilot.data.download import download_dataset
from numerpilot.pipeline.context import Context
from numerpilot.pipeline.train import train_ensemble
from numerpilot.sandbox import SandboxServer
from numerpilot.sandbox.state import CRYPTO
from numerpilot.submission.ledger import Ledger
from numerpilot.workdir import Workdir


def _config(tournament: str, extra: str = "") -> str:
    """The daemon tests' config for one tournament (default targets: Signals' ``target``)."""
    models = f'tournament = "{tournament}"\nmodels = ["sandbox_{tournament}"]\n{extra}'
    base = DAEMON_CONFIG.replace('models = ["sandbox_model", "sandbox_model_2"]', models)
    return base.replace('[train]\ntargets = ["target", "target_teager2b_20"]\n', "[train]\n")


def _client(sandbox: SandboxServer, creds: Credentials, tournament: str) -> NumeraiClient:
    return NumeraiClient(creds, sandbox.url, tournament, timeout=1.0, retries=4, backoff=0.05)


def _daemon(work: Workdir, client: NumeraiClient) -> Daemon:
    return Daemon(work, load_config(work.config_path), client, seed=0)


def test_signals_daemon_trains_predicts_and_submits_once(
    tmp_path: Path, sandbox: SandboxServer, creds: Credentials, caplog: pytest.LogCaptureFixture
) -> None:
    client = _client(sandbox, creds, "signals")
    work = Workdir(tmp_path / "wd")
    work.root.mkdir()
    work.config_path.write_text(_config("signals"))
    ctx = Context.load(work)
    download_dataset(work, ctx.config, client)
    assert ctx.config.train.targets == ["target"]
    train_ensemble(ctx)
    with caplog.at_level("INFO", logger="numerpilot"):
        report = _daemon(work, client).run(once=True)
    (result,) = report.results
    assert result.outcome == "uploaded" and not report.failures
    said = [r.getMessage() for r in caplog.records if "uploaded in round" in r.getMessage()]
    assert said and "churn and turnover" in said[0], said  # the log names the figures
    (sub,) = sandbox.state.submissions
    frame = pd.read_csv(__import__("io").BytesIO(sub.data))
    assert list(frame.columns) == ["numerai_ticker", "signal"] and len(frame) >= 100
    assert _daemon(work, client).run(once=True).results == []
    assert len(sandbox.state.submissions) == 1


def test_crypto_daemon_submits_the_users_signal_file_once_per_round(
    tmp_path: Path, sandbox: SandboxServer, creds: Credentials
) -> None:
    client = _client(sandbox, creds, "crypto")
    work = Workdir(tmp_path / "wd")
    work.root.mkdir()
    work.config_path.write_text(_config("crypto", 'signal_file = "sig.csv"'))

    def write_signal(seed: int) -> None:
        symbols = sandbox.state.tickers[CRYPTO].universe(sandbox.state.current().number).symbol
        values = np.random.default_rng(seed).uniform(0.01, 0.99, len(symbols))
        pd.DataFrame({"symbol": symbols, "signal": values}).to_csv(work.root / "sig.csv",
                                                                  index=False)  # fmt: skip

    write_signal(0)
    first = _daemon(work, client).run(once=True)
    assert [r.outcome for r in first.results] == ["uploaded"], first.failures
    assert _daemon(work, client).run(once=True).results == []
    sandbox.clock.advance(timedelta(days=1))  # the next round; the job has not run yet
    waiting = _daemon(work, client).run(once=True)  # 5 minutes in: the job may still run
    assert waiting.results == [] and waiting.failures == []
    assert all(r.state == "submitted" for r in Ledger(work.state_db).history())
    sandbox.clock.advance(timedelta(minutes=30))  # half of the staking window: it failed
    stale = _daemon(work, client).run(once=True)
    assert stale.results == [] and "already submitted in round" in stale.failures[0]
    write_signal(1)
    fresh = _daemon(work, client).run(once=True)
    assert [r.outcome for r in fresh.results] == ["uploaded"]
    rounds = {r.round for r in Ledger(work.state_db).history() if r.state == "submitted"}
    assert len(rounds) == 2 and len(sandbox.state.submissions) == 2


def test_a_refused_signal_is_recorded_as_failed_with_the_reason(
    tmp_path: Path, sandbox: SandboxServer, creds: Credentials
) -> None:
    """A file refused before any upload fails the round in the ledger, with the reason
    ('status' says failed, not missed); nothing reaches Numerai."""
    client = _client(sandbox, creds, "crypto")
    work = Workdir(tmp_path / "wd")
    work.root.mkdir()
    work.config_path.write_text(_config("crypto", 'signal_file = "sig.csv"'))
    symbols = sandbox.state.tickers[CRYPTO].universe(sandbox.state.current().number).symbol
    pd.DataFrame({"symbol": symbols, "signal": np.nan}).to_csv(work.root / "sig.csv", index=False)
    report = _daemon(work, client).run(once=True)
    assert report.results == [] and report.failures
    (row,) = Ledger(work.state_db).history()
    assert row.state == "failed" and row.last_error == report.failures[0]
    assert sandbox.state.submissions == []


def test_a_signal_refused_for_churn_is_not_predicted_and_checked_again_every_poll(
    tmp_path: Path, sandbox: SandboxServer, creds: Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The live predictions of a round do not change between polls, nor does the churn
    check's verdict on them: the daemon predicts and checks once, and says it still fails."""
    from numerpilot.pipeline import predict
    from numerpilot.submission import submit

    client = _client(sandbox, creds, "signals")
    work = Workdir(tmp_path / "wd")
    work.root.mkdir()
    work.config_path.write_text(_config("signals", "max_churn = 0.001\nmax_turnover = 0.001"))
    ctx = Context.load(work)
    download_dataset(work, ctx.config, client)
    train_ensemble(ctx)
    runner = _daemon(work, client)
    assert [r.outcome for r in runner.pass_once().results] == ["uploaded"]
    sandbox.clock.advance(timedelta(days=1))  # the next round: churn against the first
    calls: list[str] = []

    def counted(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: object, **kwargs: object) -> Any:
            calls.append(name)
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(predict, "predict_live", counted("predict", predict.predict_live))
    monkeypatch.setattr(submit, "submit_predictions", counted("submit", submit.submit_predictions))
    first = runner.pass_once()
    assert first.failures and "against the previous submissions" in first.failures[0]
    for _ in range(2):  # two more polls
        assert runner.pass_once().failures == first.failures
    assert calls == ["predict", "submit"] and len(sandbox.state.submissions) == 1


def test_a_signal_file_not_written_yet_is_waited_for_then_fails_the_round(
    tmp_path: Path, sandbox: SandboxServer, creds: Credentials, caplog: pytest.LogCaptureFixture
) -> None:
    """The job that writes ``signal_file`` runs after the round opens: until half of the
    staking window has passed, a missing file is waited for (said once, no alert, no
    failed row); then the round fails with the reason."""
    client = _client(sandbox, creds, "crypto")
    work = Workdir(tmp_path / "wd")
    work.root.mkdir()
    work.config_path.write_text(_config("crypto", 'signal_file = "sig.csv"'))
    runner = _daemon(work, client)
    with caplog.at_level("INFO", logger="numerpilot"):
        for _ in range(2):
            assert runner.pass_once().failures == []
    said = [r.getMessage() for r in caplog.records if "waiting for this round's" in r.getMessage()]
    assert len(said) == 1 and "does not exist" in said[0], said
    assert Ledger(work.state_db).history() == [] and sandbox.state.submissions == []
    sandbox.clock.advance(timedelta(minutes=30))
    failed = runner.pass_once()
    assert "does not exist" in failed.failures[0]
    (row,) = Ledger(work.state_db).history()
    assert row.state == "failed" and sandbox.state.submissions == []


def test_a_signal_file_older_than_the_last_rounds_universe_is_not_submitted(
    tmp_path: Path, sandbox: SandboxServer, creds: Credentials
) -> None:
    """A file never submitted (the daemon was down) but written before the previous
    round's universe reached this machine is an earlier round's: the daemon does not send
    it for this round; once the job writes it again (or it is touched), it does."""
    import os
    import time

    client = _client(sandbox, creds, "crypto")
    work = Workdir(tmp_path / "wd")
    work.root.mkdir()
    work.config_path.write_text(_config("crypto", 'signal_file = "sig.csv"'))
    symbols = sandbox.state.tickers[CRYPTO].universe(sandbox.state.current().number).symbol
    signal = work.root / "sig.csv"
    values = np.random.default_rng(0).uniform(0.01, 0.99, len(symbols))
    pd.DataFrame({"symbol": symbols, "signal": values}).to_csv(signal, index=False)
    hour_ago = time.time() - 3600
    os.utime(signal, (hour_ago, hour_ago))  # written before this round's universe arrived
    download_dataset(work, load_config(work.config_path), client, live_only=True)  # yours
    sandbox.clock.advance(timedelta(days=1, minutes=30))  # the next round, half its window
    stale = _daemon(work, client).run(once=True)
    assert stale.results == [] and "an earlier round's file" in stale.failures[0]
    assert sandbox.state.submissions == []
    os.utime(signal)  # the job ran (or you touched it): this round's
    fresh = _daemon(work, client).run(once=True)
    assert [r.outcome for r in fresh.results] == ["uploaded"], fresh.failures
