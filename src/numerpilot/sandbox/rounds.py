"""What the sandbox says about each round besides its times: target, payout multipliers.

Numerai names each round's target and, since 2026, its own payout factor and score
multipliers (``rounds { target payoutFactor roundScoreConfigs {...} }``). The sandbox
varies them from round to round, deterministically, so that a client that assumes
constants instead of reading them is caught by the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TARGETS = ("target_ender_20", "target_ender_20", "target_ender_20", "target_cyrusd_20")
#: Numerai's tournament ids (Classic, Signals, Crypto).
CLASSIC, SIGNALS, CRYPTO = 8, 11, 12


@dataclass(frozen=True)
class PaidScore:
    """A score a round pays on: its payout setting's name and display name, and which of
    the sandbox's scores it is (Numerai lists a submission's scores under both names:
    ``canon_corr`` beside ``v2_corr20``)."""

    name: str
    display: str
    own: str


#: What each tournament pays on (Numerai's facts page): Classic CORR and MMC; Signals
#: alpha and MPC, which the sandbox scores as its CORR and MMC of the signal; Crypto MMC.
PAID = {
    CLASSIC: (PaidScore("canon_corr", "CORR", "v2_corr20"), PaidScore("canon_mmc", "MMC", "mmc")),
    SIGNALS: (PaidScore("canon_alpha", "Alpha", "v2_corr20"), PaidScore("canon_mpc", "MPC", "mmc")),
    CRYPTO: (PaidScore("canon_mmc", "MMC", "mmc"),),
}


@dataclass(frozen=True)
class RoundConfig:
    """A round's target, payout factor, and the scores it pays on with their multipliers
    and clip."""

    target: str
    payout_factor: float
    paid: tuple[tuple[PaidScore, float], ...]
    clip: float = 0.05

    def multiplier(self, own: str) -> float | None:
        """The multiplier of the paid score that is the sandbox's ``own`` (None: unpaid)."""
        return next((m for score, m in self.paid if score.own == own), None)

    def score_configs(self) -> list[dict[str, Any]]:
        """``roundScoreConfigs`` as the API lists them."""
        return [_score_config(s.name, s.display, m, self.clip) for s, m in self.paid]

    def payout(self, stake: float, corr: float, mmc: float) -> float:
        """NMR paid (or burned) for a resolved round with these CORR and MMC."""
        own = {"v2_corr20": corr, "mmc": mmc}
        raw = self.payout_factor * sum(m * own[score.own] for score, m in self.paid)
        return stake * max(-self.clip, min(self.clip, raw))

    def listed(self, scores: dict[str, float]) -> dict[str, float]:
        """A submission's scores as Numerai lists them: its own names and the paid ones'."""
        named = {score.name: scores[score.own] for score, _ in self.paid if score.own in scores}
        return {**scores, **named}


def _score_config(name: str, display: str, multiplier: float, clip: float) -> dict[str, Any]:
    return {
        "name": name,
        "displayName": display,
        "minMultiplier": 0.0,
        "maxMultiplier": 3.0,
        "defaultMultiplier": multiplier,
        "clipThreshold": clip,
        "isPayout": True,
    }


def round_config(number: int, tournament: int = CLASSIC) -> RoundConfig:
    """Round ``number``'s configuration in ``tournament`` (varies with the number,
    deterministically): Classic clip(pf * (c*CORR + m*MMC), 0.05), Signals
    clip(pf * (0.3*alpha + 0.8*MPC), 0.017), Crypto clip(pf * MMC, 0.05)."""
    k = number % 4
    factor = round(1.0 - 0.05 * k, 2)
    if tournament == SIGNALS:
        alpha, mpc = PAID[SIGNALS]
        return RoundConfig("target", factor, ((alpha, 0.3), (mpc, 0.8)), clip=0.017)
    if tournament == CRYPTO:
        return RoundConfig("target", factor, ((PAID[CRYPTO][0], 1.0),))
    corr, mmc = PAID[CLASSIC]
    multipliers = ((0.5, 2.0), (0.75, 2.25), (0.75, 2.5), (1.0, 2.25))[k]
    return RoundConfig(TARGETS[k], factor, ((corr, multipliers[0]), (mmc, multipliers[1])))
