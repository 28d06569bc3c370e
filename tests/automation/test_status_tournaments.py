"""A Signals or Crypto model listed beside Classic ones: status shows one tournament's
models, and said only "sandbox_signals is not a classic model of this account", as if the
name were wrong; it says which tournament the model is of, and how to see it."""

from __future__ import annotations

from pathlib import Path

from numerpilot.api.client import NumeraiClient
from numerpilot.automation.status import collect
from numerpilot.config import ScoringConfig
from numerpilot.submission.ledger import Ledger


def test_another_tournaments_model_is_named_with_its_tournament(
    client: NumeraiClient, tmp_path: Path
) -> None:
    names = ["sandbox_model", "sandbox_signals", "sandbox_crypto", "nosuch"]
    report = collect(client, Ledger(tmp_path / "state.db"), "classic", names, ScoringConfig(), 2)
    assert [m.rounds != [] for m in report.models] == [True, False, False, False]
    assert report.notes == (
        "sandbox_signals is a signals model of this account, not a classic one: status shows "
        "the classic models ([submission] tournament); run it in a work directory whose "
        '[submission] tournament = "signals" to see it',
        "sandbox_crypto is a crypto model of this account, not a classic one: status shows "
        "the classic models ([submission] tournament); run it in a work directory whose "
        '[submission] tournament = "crypto" to see it',
        "nosuch is not a classic model of this account",
    )
