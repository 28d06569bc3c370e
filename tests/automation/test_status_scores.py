"""``status`` reads CORR and MMC by Numerai's exact score names, not by a name that contains
``corr`` or ``mmc`` (Numerai lists corr60, corr_w_meta_model, mmc60, canon_mmc60 too): the
names the round's payout settings give, else the 20-day CORR and MMC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from numerpilot.api.client import NumeraiClient
from numerpilot.api.rounds import RoundInfo, ScoreConfig
from numerpilot.automation.status import collect, round_scores, shown_scores, still_scoring
from numerpilot.config import ScoringConfig
from numerpilot.submission.ledger import Ledger

#: One round of Numerai's ``submissionScores`` answer, in the order Numerai lists the
#: names (alphabetical), with every score of the round (values made distinct).
NUMERAI_NAMES = {
    "apcwnm": 0.41, "bmc": 0.011, "canon_bmc": 0.012, "canon_corj60": 0.013,
    "canon_corr": 0.014, "canon_corr60": 0.030, "canon_cort20": -0.004, "canon_fnc_v3": -0.029,
    "canon_mmc": 0.0004, "canon_mmc60": 0.0111, "canon_tc": 0.023, "corj60": 0.0039,
    "corr60": 0.0089, "corr_w_meta_model": -0.066, "cort20": 0.0029, "fnc_v3": -0.010,
    "mcwnm": 0.4476, "mmc": -0.0065, "mmc60": 0.0181, "season_score": -0.0059, "tc": 0.0230,
    "v2_corr20": -0.0060,
}  # fmt: skip


def _entries(number: int, scores: dict[str, float], day: int = 20) -> list[dict[str, Any]]:
    return [
        {
            "roundNumber": number,
            "displayName": name,
            "value": value,
            "day": day,
            "resolved": day >= 20,
        }
        for name, value in scores.items()
    ]


def _round(number: int, *paid: str) -> RoundInfo:
    opened = datetime(2026, 11, 3, 12, tzinfo=UTC)
    scores = tuple(ScoreConfig(name, 1.0, 0.05, is_payout=True) for name in paid)
    closes = opened + timedelta(hours=7)
    return RoundInfo(number, opened, opened + timedelta(hours=1), closes, closes, scores=scores)


def test_scores_are_read_by_their_exact_names() -> None:
    (got,) = round_scores(_entries(1100, NUMERAI_NAMES)).values()
    assert shown_scores(got, _round(1100)) == {"corr": -0.0060, "mmc": -0.0065}  # not mmc60


def test_the_scores_the_round_pays_on_come_first() -> None:
    """A round whose payout settings name canon_corr and canon_mmc shows those, the scores
    whose multipliers its payout estimate uses."""
    (got,) = round_scores(_entries(1100, NUMERAI_NAMES)).values()
    paid = _round(1100, "canon_corr", "canon_mmc")
    assert shown_scores(got, paid) == {"corr": 0.014, "mmc": 0.0004}
    assert shown_scores({"v2_corr20": 0.02}, paid) == {"corr": 0.02}  # not listed: the usual


def test_the_latest_day_counts_and_no_number_is_no_score() -> None:
    daily = [
        *_entries(7, {"v2_corr20": 0.02, "mmc": 0.01}, day=20),
        *_entries(7, {"v2_corr20": 0.05, "mmc": 0.03}, day=3),  # an earlier day, listed after
        {"roundNumber": 9, "displayName": "mmc", "value": float("nan"), "day": 20},
        {"roundNumber": 9, "displayName": "v2_corr20", "value": None, "day": 20},
        {"roundNumber": 9, "displayName": "corr60", "value": True, "day": 20},
    ]
    assert round_scores(daily) == {7: {"v2_corr20": 0.02, "mmc": 0.01}}


def test_status_shows_the_scores_the_sandbox_round_pays_on(
    client: NumeraiClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Against Numerai's full list of names, status showed mmc60 as MMC (the last name
    containing 'mmc'), and its payout estimate with it; the sandbox's rounds pay on
    canon_corr and canon_mmc (their roundScoreConfigs), so those are shown."""
    number = client.current_round().number - 5
    monkeypatch.setattr(
        client.api, "submission_scores", lambda model_id: _entries(number, NUMERAI_NAMES)
    )
    report = collect(
        client, Ledger(tmp_path / "state.db"), "classic", ["sandbox_model"], ScoringConfig(), 10
    )
    (row,) = [r for r in report.models[0].rounds if r.round == number]
    assert row.corr == pytest.approx(0.014) and row.mmc == pytest.approx(0.0004)


def test_rounds_still_scoring_are_said_to_be_provisional(
    client: NumeraiClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Numerai lists a round's scores day by day before it resolves (``resolved: false``):
    status showed those as the round's CORR, MMC and payout estimate, with nothing to tell
    them from final ones (also in the scores summary)."""
    now = client.current_round().number
    entries = [
        *_entries(now - 7, {"v2_corr20": 0.02, "mmc": 0.01}, day=20),  # resolved
        *_entries(now - 6, {"v2_corr20": 0.01, "mmc": 0.01}, day=20),
        *_entries(now - 5, {"v2_corr20": 0.03, "mmc": 0.02}, day=12),  # still scoring
        *_entries(now - 4, {"v2_corr20": 0.05, "mmc": 0.01}, day=8),
        *_entries(now - 3, {"v2_corr20": 0.01, "mmc": 0.00}, day=4),
    ]
    monkeypatch.setattr(client.api, "submission_scores", lambda model_id: entries)
    names = ["sandbox_model"]
    report = collect(client, Ledger(tmp_path / "db"), "classic", names, ScoringConfig(), 10)
    assert report.notes == (
        f"rounds {now - 5} to {now - 3}: Numerai is still scoring them; their CORR, MMC and "
        "payout estimate are the latest day's, not final (a round resolves about a month "
        "after it closes)",
    )
    resolved = entries[:4]
    monkeypatch.setattr(client.api, "submission_scores", lambda model_id: resolved)
    report = collect(client, Ledger(tmp_path / "db"), "classic", names, ScoringConfig(), 10)
    assert report.notes == ()
    one = _entries(now - 5, {"v2_corr20": 0.03}, day=3)
    monkeypatch.setattr(client.api, "submission_scores", lambda model_id: resolved + one)
    report = collect(client, Ledger(tmp_path / "db"), "classic", names, ScoringConfig(), 10)
    assert report.notes[0].startswith(f"round {now - 5}: Numerai is still scoring it; its CORR")


def test_only_the_shown_scores_say_whether_a_round_is_final(
    client: NumeraiClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """corr60 and mmc60 resolve weeks after the 20-day scores: a round whose shown
    v2_corr20 and mmc are resolved is final, whatever its 60-day scores say."""
    number = client.current_round().number - 5
    entries = [
        *_entries(number, {"v2_corr20": 0.02, "mmc": 0.01}, day=20),
        *[{**e, "resolved": False} for e in _entries(number, {"corr60": 0.03, "mmc60": 0.0})],
    ]
    monkeypatch.setattr(client.api, "submission_scores", lambda model_id: entries)
    names = ["sandbox_model"]
    report = collect(client, Ledger(tmp_path / "db"), "classic", names, ScoringConfig(), 10)
    assert report.notes == ()
    assert still_scoring(entries, {number: {"v2_corr20", "mmc"}}) == set()
    assert still_scoring(entries, {number: {"corr60"}}) == {number}


def test_a_round_is_still_scoring_whatever_the_order_of_its_entries() -> None:
    """On the latest day, mmc is unresolved and v2_corr20 resolved: the round is not final,
    whichever Numerai lists last (the last one listed decided)."""
    mmc = {"roundNumber": 7, "displayName": "mmc", "value": 0.01, "day": 20, "resolved": False}
    corr = {"roundNumber": 7, "displayName": "v2_corr20", "value": 0.02, "day": 20,
            "resolved": True}  # fmt: skip
    shown = {7: {"v2_corr20", "mmc"}}
    assert still_scoring([mmc, corr], shown) == still_scoring([corr, mmc], shown) == {7}
    again = {**mmc, "resolved": True}  # the same day listed twice: either unresolved counts
    assert still_scoring([mmc, again, corr], shown) == still_scoring([again, mmc], shown) == {7}
