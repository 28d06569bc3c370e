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
#: The scores the payout settings name, and the sandbox's score each one is: Numerai lists
#: a submission's scores under both (``canon_corr`` beside ``v2_corr20``, ``canon_mmc``
#: beside ``mmc``).
PAYOUT_SCORES = {"canon_corr": "v2_corr20", "canon_mmc": "mmc"}


@dataclass(frozen=True)
class RoundConfig:
    """A round's target, payout factor and CORR/MMC multipliers with their clip."""

    target: str
    payout_factor: float
    corr_multiplier: float
    mmc_multiplier: float
    clip: float = 0.05

    def score_configs(self) -> list[dict[str, Any]]:
        """``roundScoreConfigs`` as the API lists them."""
        corr, mmc = PAYOUT_SCORES
        return [
            _score_config(corr, "CORR", self.corr_multiplier, self.clip),
            _score_config(mmc, "MMC", self.mmc_multiplier, self.clip),
        ]

    def payout(self, stake: float, corr: float, mmc: float) -> float:
        """NMR paid (or burned) for a resolved round."""
        raw = self.payout_factor * (self.corr_multiplier * corr + self.mmc_multiplier * mmc)
        return stake * max(-self.clip, min(self.clip, raw))


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


def round_config(number: int) -> RoundConfig:
    """Round ``number``'s configuration (varies with the number, deterministically)."""
    k = number % 4
    return RoundConfig(
        target=TARGETS[k],
        payout_factor=round(1.0 - 0.05 * k, 2),
        corr_multiplier=(0.5, 0.75, 0.75, 1.0)[k],
        mmc_multiplier=(2.0, 2.25, 2.5, 2.25)[k],
    )


def listed_scores(scores: dict[str, float]) -> dict[str, float]:
    """A submission's scores as Numerai lists them: its own names and the payout
    settings' (:data:`PAYOUT_SCORES`)."""
    named = {name: scores[own] for name, own in PAYOUT_SCORES.items() if own in scores}
    return {**scores, **named}
