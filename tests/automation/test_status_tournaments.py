"""A Signals or Crypto model listed beside Classic ones: status shows one tournament's
models, and said only "sandbox_signals is not a classic model of this account", as if the
name were wrong; it says which tournament the model is of, and how to see it."""

from __future__ import annotations

from pathlib import Path

from numerpilot.api.client import NumeraiClient
from numerpilot.automation.status import collect, unknown_notes
from numerpilot.config import ScoringConfig
from numerpilot.credentials import Credentials
from numerpilot.submission.ledger import Ledger
from numerpilot.submission.submit import elsewhere


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


def test_status_and_submit_name_other_tournaments_alike(
    client: NumeraiClient, creds: Credentials, tmp_path: Path
) -> None:
    """One question to Numerai for both: the models of the account in another tournament;
    none named when Numerai cannot be asked (here: nothing listens at the address)."""
    names = ["sandbox_model", "sandbox_signals", "sandbox_crypto", "nosuch"]
    assert client.other_tournaments(names) == {
        "sandbox_signals": "signals",
        "sandbox_crypto": "crypto",
    }
    assert elsewhere(client, names) == (
        " sandbox_signals is a Signals model: submit it from a work directory whose "
        '[submission] tournament = "signals". sandbox_crypto is a Crypto model: submit it '
        'from a work directory whose [submission] tournament = "crypto".'
    )
    down = NumeraiClient(creds, "http://127.0.0.1:9", timeout=1.0, retries=0, backoff=0.01)
    assert down.other_tournaments(names) == {} and elsewhere(down, names) == ""
    assert unknown_notes(down, ["sandbox_signals"], "classic") == [
        "sandbox_signals is not a classic model of this account"
    ]
