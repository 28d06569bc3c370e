"""Rounds as the API describes them: times, target and payout settings, parsed once.

Nothing here is a constant of numerpilot: the round's times, its target, its payout factor
and its score multipliers all come from the API's ``rounds`` answer (numerapi's
``list_rounds`` fields), and "now" is the server's clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
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
    """An ISO time of the API; one without a zone is UTC (Numerai's clock)."""
    if not isinstance(value, str):
        raise TypeError(value)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def as_float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _time(raw: dict[str, Any], *names: str) -> datetime:
    """The first of ``names`` the round has (a readable error naming them when none parses)."""
    value = next((raw[n] for n in names if raw.get(n) is not None), None)
    try:
        return parse_time(value)
    except (TypeError, ValueError):
        raise _not_understood(raw, f"{names[0]} {value!r}") from None


def _not_understood(raw: Any, what: str) -> NumeraiAPIError:
    number = raw.get("number") if isinstance(raw, dict) else None
    return NumeraiAPIError(
        f"Numerai's answer for round {number if number is not None else '?'} has no usable "
        f"{what}; try again later (if it stays so, Numerai's API has changed: update "
        "numerpilot).",
        retryable=True,
    )


def parse_round(raw: Any, now: datetime) -> RoundInfo:
    """A ``rounds`` entry of the API as a :class:`RoundInfo` (or a readable error naming the
    field it could not read)."""
    if not isinstance(raw, dict):
        raise _not_understood(raw, "round (not an object)")
    try:
        number = int(raw["number"])
    except (KeyError, TypeError, ValueError):
        raise _not_understood(raw, f"number {raw.get('number')!r}") from None
    opened = _time(raw, "openTime")
    staking = _time(raw, "closeStakingTime", "closeTime")
    closes = _time(raw, "closeTime", "closeStakingTime")
    configs = tuple(
        ScoreConfig(
            str(c.get("name") or c.get("displayName") or ""),
            as_float(c.get("defaultMultiplier")),
            as_float(c.get("clipThreshold")),
            bool(c.get("isPayout", True)),
        )
        for c in raw.get("roundScoreConfigs") or []
        if isinstance(c, dict)
    )
    target = raw.get("target")
    return RoundInfo(
        number, opened, staking, max(closes, staking), now,
        target if isinstance(target, str) else None, as_float(raw.get("payoutFactor")), configs,
    )  # fmt: skip
