"""Rounds as the API describes them: times, target and payout settings, parsed once.

Nothing here is a constant of numerpilot: the round's times, its target, its payout factor
and its score multipliers all come from the API's ``rounds`` answer (numerapi's
``list_rounds`` fields), and "now" is the server's clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from numerpilot.api.errors import NumeraiAPIError

#: The fields of ``rounds { ... }`` numerpilot reads.
ROUND_FIELDS = """number openTime closeTime closeStakingTime resolveTime target payoutFactor
  roundScoreConfigs { name displayName minMultiplier maxMultiplier defaultMultiplier
                      clipThreshold isPayout }"""


@dataclass(frozen=True)
class ScoreConfig:
    """One score of a round's payout: its name, multiplier (default; None when the API gives
    none) and clip."""

    name: str
    multiplier: float | None
    clip: float | None
    is_payout: bool


@dataclass(frozen=True)
class RoundInfo:
    """A round as the API reports it, judged against the server's clock ``now``.

    ``is_open``: submissions accepted; ``is_late``: accepted but no longer staked
    (after the staking close). ``close_time`` is when the round stops taking submissions.
    """

    number: int
    open_time: datetime
    close_staking_time: datetime
    close_time: datetime
    now: datetime
    target: str | None = None
    payout_factor: float | None = None
    scores: tuple[ScoreConfig, ...] = field(default=())

    @property
    def is_open(self) -> bool:
        return self.open_time <= self.now < self.close_time

    @property
    def is_late(self) -> bool:
        return self.close_staking_time <= self.now < self.close_time

    def multiplier(self, *names: str) -> float | None:
        """The payout multiplier of the first score whose name contains one of ``names``."""
        for config in self.scores:
            if config.is_payout and any(n in config.name.lower() for n in names):
                return config.multiplier
        return None


def parse_time(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _number(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def parse_round(raw: Any, now: datetime) -> RoundInfo:
    """A ``rounds`` entry of the API as a :class:`RoundInfo` (or a readable error)."""
    try:
        opened = parse_time(raw["openTime"])
        staking = parse_time(raw.get("closeStakingTime") or raw["closeTime"])
        closes = parse_time(raw.get("closeTime") or raw["closeStakingTime"])
        configs = tuple(
            ScoreConfig(
                str(c.get("name") or c.get("displayName") or ""),
                _number(c.get("defaultMultiplier")),
                _number(c.get("clipThreshold")),
                bool(c.get("isPayout", True)),
            )
            for c in raw.get("roundScoreConfigs") or []
        )
        return RoundInfo(
            int(raw["number"]), opened, staking, max(closes, staking), now,
            raw.get("target"), _number(raw.get("payoutFactor")), configs,
        )  # fmt: skip
    except (KeyError, TypeError, ValueError, AttributeError):
        raise NumeraiAPIError(f"Numerai's round answer was not understood: {raw!r}") from None
