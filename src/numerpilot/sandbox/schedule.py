"""The sandbox's clock and round schedules: Numerai's 2026 week, or a compressed one.

Numerai (since 2026-04-06): rounds open Tuesday to Saturday at 12:00 UTC; Tuesday-Friday
rounds take staked submissions until 13:00, the Saturday round until Sunday 14:00. The
sandbox then accepts late submissions (scored, not staked) for six more hours; between
that and the next open no round takes submissions. A round resolves about a month later.
The sandbox clock can start anywhere and run faster than real time; a
:class:`CompressedSchedule` opens a round every few real seconds instead, so tests and
demos can watch many rounds go by.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

#: Round ``ANCHOR_ROUND`` opened at ``ANCHOR_OPEN`` (a Tuesday); numbers count every open.
ANCHOR_ROUND = 600
ANCHOR_OPEN = datetime(2024, 1, 2, 12, tzinfo=UTC)


@dataclass(frozen=True)
class RoundWindow:
    """One round: when it opens, when staked submissions close, when late ones close, and
    when its scores resolve."""

    number: int
    open_time: datetime
    close_staking_time: datetime
    close_time: datetime
    resolve_time: datetime

    def is_open(self, now: datetime) -> bool:
        """Submissions accepted (staked or late)."""
        return self.open_time <= now < self.close_time

    def is_late(self, now: datetime) -> bool:
        """Accepted but no longer staked."""
        return self.close_staking_time <= now < self.close_time


class Schedule(Protocol):
    def window(self, number: int) -> RoundWindow:
        """Round ``number``'s window."""
        ...

    def current(self, now: datetime) -> RoundWindow:
        """The latest round that opened at or before ``now``."""
        ...


class WeeklySchedule:
    """Numerai's 2026 schedule: Tue-Sat at 12:00 UTC, five rounds a week."""

    open_hour = 12
    #: Monday is 0: rounds open Tuesday (1) through Saturday (5).
    weekdays = (1, 2, 3, 4, 5)
    weekday_window = timedelta(hours=1)
    saturday_window = timedelta(hours=26)  # until Sunday 14:00
    late_window = timedelta(hours=6)
    resolve_after = timedelta(days=31)

    def _open(self, number: int) -> datetime:
        weeks, index = divmod(number - ANCHOR_ROUND, len(self.weekdays))
        return ANCHOR_OPEN + timedelta(weeks=weeks, days=index)

    def window(self, number: int) -> RoundWindow:
        opens = self._open(number)
        staking = self.saturday_window if opens.weekday() == 5 else self.weekday_window
        close_staking = opens + staking
        closes = min(close_staking + self.late_window, self._open(number + 1))
        return RoundWindow(number, opens, close_staking, closes, close_staking + self.resolve_after)

    def current(self, now: datetime) -> RoundWindow:
        number = ANCHOR_ROUND + (now - ANCHOR_OPEN).days // 7 * len(self.weekdays)
        while self._open(number + 1) <= now:
            number += 1
        while self._open(number) > now:
            number -= 1
        return self.window(number)


class CompressedSchedule:
    """A round every ``round_seconds`` from ``start``, taking staked submissions for
    ``window_seconds`` and late ones until the next opens; resolves two rounds later."""

    def __init__(self, start: datetime, round_seconds: float, window_seconds: float) -> None:
        if not 0 < window_seconds <= round_seconds:
            raise ValueError("need 0 < window seconds <= round seconds")
        self.start = start.astimezone(UTC)
        self.period = timedelta(seconds=round_seconds)
        self.staking = timedelta(seconds=window_seconds)

    def window(self, number: int) -> RoundWindow:
        opens = self.start + (number - ANCHOR_ROUND) * self.period
        closes = opens + self.period
        return RoundWindow(number, opens, opens + self.staking, closes, closes + self.period)

    def current(self, now: datetime) -> RoundWindow:
        return self.window(ANCHOR_ROUND + int((now - self.start) / self.period))


class SandboxClock:
    """Simulated UTC time: ``start`` plus real elapsed time times ``speed``, plus jumps."""

    def __init__(self, start: datetime | None = None, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._start = (start or datetime.now(UTC)).astimezone(UTC)
        self._speed = speed
        self._real0 = time.monotonic()
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            elapsed = (time.monotonic() - self._real0) * self._speed
            return self._start + timedelta(seconds=elapsed) + self._offset

    def advance(self, delta: timedelta) -> None:
        """Jump forward (tests: close a round, reach resolution)."""
        with self._lock:
            self._offset += delta

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (keeps running at the same speed from there)."""
        with self._lock:
            self._start = when.astimezone(UTC)
            self._real0 = time.monotonic()
            self._offset = timedelta(0)


def iso(when: datetime) -> str:
    """Timestamps as the API writes them: UTC with a trailing ``Z``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
