"""Signals and Crypto end to end against the sandbox: numerapi's own SignalsAPI/CryptoAPI,
``numerpilot submit --file`` exactly once, the churn refusal, status and scores."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import numerapi
import numpy as np
import pandas as pd
import pytest
from numerapi import base_api
from tests.conftest import Numerpilot

from numerpilot.sandbox import DEMO_PUBLIC_ID, DEMO_SECRET_KEY, SandboxServer
from numerpilot.sandbox.state import CRYPTO, SIGNALS
from numerpilot.submission.ledger import Ledger

ID_COLUMN = {"signals": "numerai_ticker", "crypto": "symbol"}
TID = {"signals": SIGNALS, "crypto": CRYPTO}


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer) -> SandboxServer:
    monkeypatch.setenv("NUMERPILOT_API_URL", sandbox.url)
    monkeypatch.setenv("NUMERAI_PUBLIC_ID", DEMO_PUBLIC_ID)
    monkeypatch.setenv("NUMERAI_SECRET_KEY", DEMO_SECRET_KEY)
    return sandbox


def workdir(root: Path, tournament: str, extra: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "numerpilot.toml").write_text(
        f'{extra}\n[submission]\ntournament = "{tournament}"\nmodels = ["sandbox_{tournament}"]\n'
    )
    return root


def universe(sandbox: SandboxServer, tournament: str) -> pd.Series:
    number = sandbox.state.current().number
    return sandbox.state.tickers[TID[tournament]].universe(number)[ID_COLUMN[tournament]]


def signal_file(path: Path, tournament: str, ids: pd.Series, seed: int = 0) -> Path:
    """A signal over ``ids``: ranks of a fixed score per id plus seeded noise."""
    base = np.array([int("".join(ch for ch in s if ch.isdigit())) % 97 for s in ids], float)
    raw = base + np.random.default_rng(seed).standard_normal(len(ids)) * (seed % 100)
    values = pd.Series(raw).rank(pct=True).to_numpy() * 0.98
    pd.DataFrame({ID_COLUMN[tournament]: ids.to_numpy(), "signal": values}).to_csv(
        path, index=False
    )
    return path


@pytest.mark.parametrize("tournament", ["signals", "crypto"])
def test_numerapi_own_client_downloads_and_submits(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tournament: str
) -> None:
    monkeypatch.setattr(base_api, "API_TOURNAMENT_URL", sandbox.url)
    cls = numerapi.SignalsAPI if tournament == "signals" else numerapi.CryptoAPI
    api = cls(DEMO_PUBLIC_ID, DEMO_SECRET_KEY)
    listed = api.list_datasets()
    assert listed and all(f.startswith(f"{tournament}/") for f in listed)
    live_name = next(f for f in listed if "live" in f)
    live = pd.read_parquet(api.download_dataset(live_name, str(tmp_path / "live.parquet")))
    ids = live[ID_COLUMN[tournament]]
    assert len(ids) >= 100 and ids.is_unique
    train_name = live_name.rsplit("/", 1)[0] + "/train.parquet"
    train = pd.read_parquet(api.download_dataset(train_name, str(tmp_path / "t.parquet")))
    assert {"date", "target", ID_COLUMN[tournament]} <= set(train.columns)
    model_id = api.get_models()[f"sandbox_{tournament}"]
    sid = api.upload_predictions(str(signal_file(tmp_path / "s.csv", tournament, ids)),
                                 model_id=model_id)  # fmt: skip
    (received,) = sandbox.received()
    assert (received["id"], received["tournament"]) == (sid, tournament)
    back = api.download_submission(submission_id=sid, dest_path=str(tmp_path / "back.csv"))
    assert Path(back).read_bytes() == (tmp_path / "s.csv").read_bytes()
    sandbox.state.resolve(received["round"])
    scores = api.submission_scores(model_id)
    paid = {"signals": {"canon_alpha", "canon_mpc"}, "crypto": {"canon_mmc"}}[tournament]
    assert {s["displayName"] for s in scores} == {"v2_corr20", "mmc", *paid}
    assert all(np.isfinite(s["value"]) for s in scores)


def test_the_live_universe_changes_a_little_every_round(sandbox: SandboxServer) -> None:
    data = sandbox.state.tickers[SIGNALS]
    number = sandbox.state.current().number
    a, b = (set(data.universe(n).numerai_ticker) for n in (number, number + 1))
    assert a != b and len(a & b) > 0.9 * len(a)


@pytest.mark.parametrize("tournament", ["signals", "crypto"])
def test_submit_file_exactly_once_then_status(
    keys: SandboxServer, numerpilot: Numerpilot, tmp_path: Path, tournament: str
) -> None:
    root = workdir(tmp_path / "wd", tournament)
    path = signal_file(tmp_path / "my_signal.csv", tournament, universe(keys, tournament))
    first = numerpilot("submit", "--file", str(path), "-C", str(root))
    assert first.code == 0, first.err
    assert f"sandbox_{tournament}: submitted my_signal.csv for round" in first.out  # not its copy
    again = numerpilot("submit", "--file", str(path), "-C", str(root))
    assert again.code == 0 and "already submitted" in again.out
    other = signal_file(tmp_path / "other.csv", tournament, universe(keys, tournament), seed=5)
    unsent = numerpilot("submit", "--file", str(other), "-C", str(root))
    assert unsent.code == 0 and "already submitted" in unsent.out
    (kept,) = (root / "submissions").iterdir()  # only what was submitted is kept
    assert kept.read_bytes() == path.read_bytes()
    (received,) = keys.received()
    assert received["tournament"] == tournament
    assert received["sha256"] == __import__("hashlib").sha256(path.read_bytes()).hexdigest()
    (row,) = Ledger(root / "state.db").history()
    assert (row.tournament, row.state, row.submission_id) == (tournament, "submitted",
                                                              received["id"])  # fmt: skip
    assert row.path and Path(row.path).read_bytes() == path.read_bytes()  # kept for churn
    assert (root / "data" / tournament).is_dir()  # the round's live universe, per version
    keys.state.resolve(received["round"])
    status = numerpilot("status", "-C", str(root))
    assert status.code == 0, status.err
    assert f"sandbox_{tournament}" in status.out and str(received["round"]) in status.out


def test_signals_churn_is_printed_and_refused_above_the_limit(
    keys: SandboxServer, numerpilot: Numerpilot, tmp_path: Path
) -> None:
    root = workdir(tmp_path / "wd", "signals")
    first = signal_file(tmp_path / "a.csv", "signals", universe(keys, "signals"), seed=1)
    out = numerpilot("submit", "--file", str(first), "-C", str(root))
    assert out.code == 0 and "no previous submission" in out.out, out.err
    keys.clock.advance(timedelta(days=1))  # the next round, a slightly different universe
    ids = universe(keys, "signals")
    steady = signal_file(tmp_path / "b.csv", "signals", ids, seed=1)
    wild = signal_file(tmp_path / "c.csv", "signals", ids, seed=77)
    refused = numerpilot("submit", "--file", str(wild), "-C", str(root))
    assert refused.code == 1 and "--allow-churn" in refused.err and "churn" in refused.err
    assert len(keys.received()) == 1
    dry = numerpilot("submit", "--file", str(steady), "--dry-run", "-C", str(root))
    assert dry.code == 0 and "churn" in dry.out and "turnover" in dry.out, dry.err
    # --force (upload again this round) does not also waive the stake's protection.
    again = numerpilot("submit", "--file", str(wild), "--force", "-C", str(root))
    assert again.code == 1 and "--allow-churn" in again.err
    assert len(keys.received()) == 1
    allowed = numerpilot("submit", "--file", str(wild), "--allow-churn", "-C", str(root))
    assert allowed.code == 0 and "over the limit" in allowed.out, allowed.err
    assert len(keys.received()) == 2
    # ... nor in a round already submitted; without --force nothing is sent, so it only says
    forced = numerpilot("submit", "--file", str(wild), "--force", "-C", str(root))
    assert forced.code == 1 and "--allow-churn" in forced.err
    plain = numerpilot("submit", "--file", str(wild), "-C", str(root))
    assert plain.code == 0 and "already submitted" in plain.out and "over the limit" in plain.out
    assert "--allow-churn" not in plain.out and len(keys.received()) == 2
    rounds = [r.round for r in Ledger(root / "state.db").history()]
    assert len(set(rounds)) == 2
    assert os.path.exists(root / "submissions")


def test_signals_churn_against_numerais_files_when_the_ledger_has_none(
    keys: SandboxServer, numerpilot: Numerpilot, tmp_path: Path
) -> None:
    """A work directory without the model's history downloads its earlier submissions."""
    elsewhere = workdir(tmp_path / "elsewhere", "signals")
    ids = universe(keys, "signals")
    first = signal_file(tmp_path / "a.csv", "signals", ids, seed=1)
    assert numerpilot("submit", "--file", str(first), "-C", str(elsewhere)).code == 0
    keys.clock.advance(timedelta(days=1))
    fresh = workdir(tmp_path / "fresh", "signals")
    wild = signal_file(tmp_path / "c.csv", "signals", universe(keys, "signals"), seed=77)
    refused = numerpilot("submit", "--file", str(wild), "-C", str(fresh))
    assert refused.code == 1 and "churn" in refused.err and "--allow-churn" in refused.err
    (downloaded,) = (fresh / "submissions" / "numerai").iterdir()
    assert downloaded.read_bytes() == first.read_bytes()
    steady = signal_file(tmp_path / "b.csv", "signals", universe(keys, "signals"), seed=1)
    dry = numerpilot("submit", "--file", str(steady), "--dry-run", "-C", str(fresh))
    assert dry.code == 0 and "max over the last 1 submission" in dry.out, dry.err
    assert len(keys.received()) == 1


FAST_SIGNALS = """\
[data]
era_step = 1
[train]
# the Classic targets, spelled out as 'numerpilot init' writes them: target alone here
targets = ["target", "target_teager2b_20", "target_ender_20", "target_jasper_20"]
holdout_eras = 8
embargo_eras = 2
early_stopping_rounds = 10
[lightgbm]
n_estimators = 30
learning_rate = 0.1
num_threads = 1
"""


def test_signals_run_then_submit_refuses_predictions_of_an_older_round(
    keys: SandboxServer, numerpilot: Numerpilot, tmp_path: Path
) -> None:
    root = workdir(tmp_path / "wd", "signals", FAST_SIGNALS)
    done = numerpilot("run", "-C", str(root))
    assert done.code == 0, done.err
    assert "sandbox_signals: submitted" in done.out and "Validation CORR" in done.out
    (sub,) = keys.state.submissions
    frame = pd.read_csv(__import__("io").BytesIO(sub.data))
    assert list(frame.columns) == ["numerai_ticker", "signal"]
    assert set(frame.numerai_ticker) == set(universe(keys, "signals"))
    keys.clock.advance(timedelta(days=1))
    stale = numerpilot("submit", "-C", str(root))
    assert stale.code == 1 and "predicted from round" in stale.err
    assert len(keys.state.submissions) == 1
