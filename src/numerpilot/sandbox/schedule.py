"""The sandbox's clock and Numerai's round schedule.

Rounds open Tuesday to Saturday at 13:00 UTC. A weekday round takes submissions for about
one hour; the Saturday round for about 49 hours (until Monday 14:00). The sandbox clock
can start at any instant and run faster than real time, so tests and demos can reach an
open round, a closed one, or a resolved one in seconds.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

OPEN_HOUR = 13
#: Monday is 0: rounds open Tuesday (1) through Saturday (5).
OPEN_WEEKDAYS = (1, 2, 3, 4, 5)
WEEKDAY_WINDOW = timedelta(hours=1)
SATURDAY_WINDOW = timedelta(hours=49)
RESOLVE_AFTER = timedelta(days=31)

#: Round ``ANCHOR_ROUND`` opened at ``ANCHOR_OPEN`` (a Tuesday); numbers count every open.
ANCHOR_OPEN = datetime(2024, 1, 2, OPEN_HOUR, tzinfo=UTC)
ANCHOR_ROUND = 600


@dataclass(frozen=True)
class RoundWindow:
    """One round: its number, when it opens and closes, and when its scores resolve."""

    number: int
    open_time: datetime
    close_time: datetime

    @property
    def resolve_time(self) -> datetime:
        return self.close_time + RESOLVE_AFTER

    def is_open(self, now: datetime) -> bool:
        return self.open_time <= now < self.close_time


def _window_for(open_time: datetime) -> timedelta:
    return SATURDAY_WINDOW if open_time.weekday() == 5 else WEEKDAY_WINDOW


def round_by_number(number: int) -> RoundWindow:
    """The window of round ``number`` (five rounds per week after the anchor)."""
    offset = number - ANCHOR_ROUND
    weeks, index = divmod(offset, len(OPEN_WEEKDAYS))
    day = ANCHOR_OPEN + timedelta(weeks=weeks, days=index)
    return RoundWindow(number, day, day + _window_for(day))


def current_round(now: datetime) -> RoundWindow:
    """The latest round that opened at or before ``now`` (open or already closed)."""
    delta = now - ANCHOR_OPEN
    weeks = delta.days // 7
    number = ANCHOR_ROUND + weeks * len(OPEN_WEEKDAYS)
    # Walk forward within the week (at most five steps) to the last open <= now.
    candidate = round_by_number(number)
    while round_by_number(number + 1).open_time <= now:
        number += 1
        candidate = round_by_number(number)
    while candidate.open_time > now:
        number -= 1
        candidate = round_by_number(number)
    return candidate


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
