"""``numerpilot status``: states per model and round, exact scores, stakes, the report."""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from tests.automation.conftest import DAEMON_CONFIG

from numerpilot.api.client import NumeraiClient, SubmissionInfo
from numerpilot.automation.daemon import Daemon
from numerpilot.automation.payouts import payout_estimate
from numerpilot.automation.status import (
    ModelStatus,
    RoundStatus,
    StatusReport,
    collect,
    round_state,
)
from numerpilot.cli.render import render_status
from numerpilot.config import ScoringConfig
from numerpilot.config_file import load_config
from numerpilot.sandbox import DEMO_PUBLIC_ID, DEMO_SECRET_KEY, SandboxServer
from numerpilot.submission.ledger import Ledger, LedgerRow
from numerpilot.workdir import Workdir


def test_status_shows_submitted_missed_scores_and_payouts(
    daemon_dir: Workdir, client: NumeraiClient, sandbox: SandboxServer
) -> None:
    config = load_config(daemon_dir.config_path)
    Daemon(daemon_dir, config, client).run(once=True)  # round N: both models
    first = client.current_round().number
    sandbox.clock.advance(timedelta(days=1))  # round N+1: nobody submits, then it closes
    sandbox.clock.advance(timedelta(days=40))  # ... and round N resolves
    report = collect(client, Ledger(daemon_dir.state_db), "classic",
                     list(config.submission.models), ScoringConfig(), 60)  # fmt: skip
    by_model = {m.name: m for m in report.models}
    model = by_model["sandbox_model"]
    assert model.stake == 25.0 and by_model["sandbox_model_2"].stake is None
    states = {r.round: r for r in model.rounds}
    resolved = states[first]
    assert resolved.state == "submitted"
    sub = next(s for s in sandbox.state.submissions if s.model_name == "sandbox_model")
    assert resolved.submission_id == sub.id
    assert (resolved.corr, resolved.mmc) == pytest.approx(
        (sub.scores["v2_corr20"], sub.scores["mmc"]), abs=1e-12
    )
    config_n = sandbox.state.config(first)  # the round's own multipliers, not constants
    assert resolved.payout == pytest.approx(config_n.payout(1.0, resolved.corr, resolved.mmc))
    assert states[first + 1].state == "missed"
    assert model.paid == pytest.approx(config_n.payout(25.0, resolved.corr, resolved.mmc))
    assert not [n for n in report.notes if "multiplier" in n]
    rounds = client.rounds  # a round that pays on another score than MMC: said, not silent
    tc_only = [replace(r, scores=tuple(c for c in r.scores if "mmc" not in c.name.lower()))
               for r in rounds(limit=60)]  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(client, "rounds", lambda limit=1: tc_only[:limit])
        again = collect(client, Ledger(daemon_dir.state_db), "classic", ["sandbox_model"],
                        ScoringConfig(), 60)  # fmt: skip
    assert (
        f"Numerai gives no MMC multiplier for round {first}: its payout estimate uses "
        "[scoring] payout_mmc_multiplier"
    ) in again.notes
    keyless = NumeraiClient(None, sandbox.url)  # no keys: the ledger's word stands
    plain = collect(keyless, Ledger(daemon_dir.state_db), "classic",
                    list(config.submission.models), ScoringConfig(), 60)  # fmt: skip
    (seen,) = [r for m in plain.models if m.name == "sandbox_model" for r in m.rounds
               if r.round == first]  # fmt: skip
    assert seen.state == "submitted"
    ledger = Ledger(daemon_dir.state_db)  # the ledger says: made after staking closed
    ledger.mark("classic", "sandbox_model", sub.model_id, first, "submitted",
                submission_id=sub.id, late=True)  # fmt: skip
    states = {}
    for who in (client, keyless):
        again = collect(who, ledger, "classic", ["sandbox_model"], ScoringConfig(), 60)
        (states[who],) = [r for r in again.models[0].rounds if r.round == first]
    assert states[client].state == "submitted"  # Numerai's insertion time has the last word
    late = states[keyless]  # without keys the ledger's: scored, not paid
    assert late.state == "late" and late.corr == resolved.corr and late.payout is None


def test_round_state_ties_unsure_and_late(client: NumeraiClient) -> None:
    """Numerai's insertion time decides late or not, except when it ties the staking close
    to the second (its times are cut to seconds): then the ledger's word; an upload whose
    outcome is not known yet is 'unsure', not 'due'."""
    info = client.current_round()
    close = info.close_staking_time

    def row(state: str, late: bool = False, error: str | None = None) -> LedgerRow:
        return LedgerRow("classic", "m", "id", info.number, state, 1, error,  # type: ignore[arg-type]
                         None, "s1", None, late, "", "")  # fmt: skip

    def sub(at: timedelta) -> SubmissionInfo:
        return SubmissionInfo("s1", "f.csv", close + at, info.number)

    assert round_state(info, sub(timedelta(0)), row("submitted", late=False)) == "submitted"
    assert round_state(info, sub(timedelta(0)), row("submitted", late=True)) == "late"
    assert round_state(info, sub(timedelta(0)), None) == "late"
    assert round_state(info, sub(timedelta(seconds=1)), row("submitted")) == "late"
    assert round_state(info, sub(timedelta(seconds=-1)), row("submitted", True)) == "submitted"
    unsure = row("uploading", error="unsure: create: no answer")
    assert round_state(info, None, unsure) == "unsure"
    assert round_state(info, None, row("uploading")) == "due"  # a crash: sent again at once


def test_status_names_why_a_round_failed(
    capsys: pytest.CaptureFixture[str], client: NumeraiClient
) -> None:
    info = client.current_round()
    failed = RoundStatus(info.number, "failed", None, None, None, None, "no trained models")
    render_status(StatusReport(info, [ModelStatus("m1", "id1", rounds=[failed])]))
    assert f"Failed: round {info.number} (m1): no trained models" in capsys.readouterr().out
    why = "raise [submission] max_churn, or ([submission] signal_file) [/red]"  # not markup
    failed = RoundStatus(info.number, "failed", None, None, None, None, why)
    note = "its payout estimate uses [scoring] payout_mmc_multiplier"
    render_status(StatusReport(info, [ModelStatus("m1", "id1", rounds=[failed])], (note,)))
    out = " ".join(capsys.readouterr().out.split())
    assert why in out and note in out


def _status_without_keys(
    folder: Path, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> str:  # fmt: skip
    """``numerpilot status -C folder`` against the sandbox with no API keys: its output."""
    monkeypatch.delenv("NUMERAI_PUBLIC_ID", raising=False)
    monkeypatch.delenv("NUMERAI_SECRET_KEY", raising=False)
    monkeypatch.setenv("NUMERPILOT_CREDENTIALS", str(folder / "none.json"))
    monkeypatch.setenv("NUMERPILOT_API_URL", sandbox.url)
    monkeypatch.setenv("COLUMNS", "200")
    from numerpilot.cli.commands import run

    monkeypatch.setattr(sys, "argv", ["numerpilot"])
    with pytest.raises(SystemExit) as done:
        run(["status", "-C", str(folder)])
    out = capsys.readouterr()
    assert done.value.code == 0, out.err
    return out.out


def test_status_command_without_keys_in_a_demo_folder(
    tmp_path: Path,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "numerpilot.toml").write_text(DAEMON_CONFIG)
    out = _status_without_keys(tmp_path, sandbox, monkeypatch, capsys)
    assert "no API keys" in out and "Round" in out
    assert (tmp_path / "reports" / "status.html").exists()


def test_status_report_plots_cumulative_scores(
    daemon_dir: Workdir, client: NumeraiClient, sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    config = load_config(daemon_dir.config_path)
    Daemon(daemon_dir, config, client).run(once=True)
    sandbox.clock.advance(timedelta(days=40))
    for key, value in (("NUMERPILOT_API_URL", sandbox.url), ("NUMERAI_PUBLIC_ID", DEMO_PUBLIC_ID),
                       ("NUMERAI_SECRET_KEY", DEMO_SECRET_KEY), ("COLUMNS", "200")):  # fmt: skip
        monkeypatch.setenv(key, value)
    from numerpilot.cli.commands import run

    with pytest.raises(SystemExit) as done:
        run(["status", "-C", str(daemon_dir.root), "--rounds", "50"])
    out = capsys.readouterr().out
    assert done.value.code == 0
    assert "sandbox_model" in out and "submitted" in out and "25.00" in out
    html = (daemon_dir.reports / "status.html").read_text()
    assert html.count('data-plot="corr_cumulative"') == 1
    assert html.count('data-plot="mmc_cumulative"') == 1
    assert DEMO_SECRET_KEY not in html and DEMO_PUBLIC_ID not in html


@pytest.mark.parametrize(
    ("factor", "multiplier", "expected"),
    [
        ("0.0", "0.5", 0.0),  # a payout factor of 0 pays nothing (not "missing: 1")
        (None, "0.5", 0.5 * 0.02 + 2.0 * 0.01),  # no factor: 1
        ("1.0", None, 0.75 * 0.02 + 2.0 * 0.01),  # no CORR multiplier: the configured one
        ("1.0", "0", 2.0 * 0.01),  # a multiplier of 0 is one
    ],
)
def test_payout_estimate_takes_the_api_values_as_they_are(
    factor: str | None, multiplier: str | None, expected: float
) -> None:
    from datetime import UTC, datetime

    from numerpilot.api.rounds import parse_round

    raw = {
        "number": 600, "openTime": "2025-01-01T13:00:00Z", "closeTime": "2025-01-02T19:00:00Z",
        "closeStakingTime": "2025-01-02T13:00:00Z", "payoutFactor": factor,
        "roundScoreConfigs": [
            {"name": "v2_corr20", "defaultMultiplier": multiplier, "clipThreshold": "0.05"},
            {"name": "mmc", "defaultMultiplier": "2.0", "clipThreshold": "0.05"},
        ],
    }  # fmt: skip
    info = parse_round(raw, datetime(2025, 1, 1, 14, tzinfo=UTC))
    scoring = ScoringConfig(payout_corr_multiplier=0.75, payout_mmc_multiplier=1.0)
    assert payout_estimate(info, 0.02, 0.01, scoring) == pytest.approx(expected)


def test_status_without_keys_or_models_says_how_to_name_one(
    tmp_path: Path,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """It printed an empty "Recent rounds" table and no hint."""
    out = _status_without_keys(tmp_path, sandbox, monkeypatch, capsys)
    assert "no model to show: list your Numerai model names" in out
    assert "or set API keys" in out and "Recent rounds" not in out
