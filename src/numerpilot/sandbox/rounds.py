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
        return [
            _score_config("canon_corr", "CORR", self.corr_multiplier, self.clip),
            _score_config("canon_mmc", "MMC", self.mmc_multiplier, self.clip),
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
