"""A Signals or Crypto model listed beside Classic ones: status shows one tournament's
models, and said only "sandbox_signals is not a classic model of this account", as if the
name were wrong; it says which tournament the model is of, and how to see it."""

from __future__ import annotations

from pathlib import Path

import pytest

from numerpilot.api.client import NumeraiClient
from numerpilot.automation.status import collect, unknown_notes
from numerpilot.config import ScoringConfig
from numerpilot.credentials import Credentials
from numerpilot.sandbox import SandboxServer
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


@pytest.mark.parametrize(("tournament", "clip"), [("signals", 0.017), ("crypto", 0.05)])
def test_signals_and_crypto_payouts_are_their_own(
    sandbox: SandboxServer, creds: Credentials, tmp_path: Path, tournament: str, clip: float
) -> None:
    """The sandbox paid Signals and Crypto as Classic (CORR and MMC, clip 0.05), and status
    estimated them with Classic's [scoring] multipliers: a Signals payout of 5 % shown,
    above Signals' cap of 1.7 %. Now each round names what it pays on, and status uses it."""
    from tests.submission.test_tournaments_e2e import signal_file, universe

    from numerpilot.sandbox.rounds import CRYPTO, SIGNALS, round_config

    client = NumeraiClient(creds, sandbox.url, tournament, timeout=2.0, retries=3, backoff=0.01)
    model = f"sandbox_{tournament}"
    path = signal_file(tmp_path / "s.csv", tournament, universe(sandbox, tournament), seed=3)
    number = client.current_round().number
    client.upload_predictions(path, client.models()[model])
    sandbox.state.resolve(number)
    report = collect(client, Ledger(tmp_path / "state.db"), tournament, [model],
                     ScoringConfig(), 3)  # fmt: skip
    (row,) = [r for r in report.models[0].rounds if r.round == number]
    config = round_config(number, SIGNALS if tournament == "signals" else CRYPTO)
    assert config.clip == clip and row.payout is not None and row.corr is not None
    assert abs(row.payout) <= clip
    sub = next(s for s in sandbox.state.submissions if s.round == number)
    expected = config.payout(1.0, sub.scores["v2_corr20"], sub.scores["mmc"])
    assert row.payout == pytest.approx(expected)
    assert not [note for note in report.notes if "multiplier" in note]
