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

import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from numerpilot.io import write_atomic

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


#: In a sandbox's data folder: the start of the compressed schedule it served last.
COMPRESSED_STATE = "compressed-schedule.json"


def compressed_start(data: Path, round_seconds: float, window_seconds: float) -> datetime:
    """Where a compressed schedule served from ``data`` without ``--start`` starts: where the
    one served there before with the same round and window started (its rounds go on, as if
    the sandbox had never stopped); after one of another shape, where the round after that
    one's current round opens now; else now. Never later than now (a saved start ahead of
    the clock numbered rounds below 600). A sandbox restarted mid-run numbered its rounds
    from 600 again, and a daemon whose ledger held those numbers as submitted submitted
    nothing until the new numbers passed the old ones."""
    path = data / COMPRESSED_STATE
    shape = {"round_seconds": round_seconds, "window_seconds": window_seconds}
    now = datetime.now(UTC)
    period, staking = timedelta(seconds=round_seconds), timedelta(seconds=window_seconds)
    saved = _saved_schedule(path)
    if saved is None:
        start = now
    elif (saved.period, saved.staking) == (period, staking) and saved.start <= now:
        return saved.start
    else:
        start = _numbering_on(saved, now, period)
    data.mkdir(parents=True, exist_ok=True)
    text = json.dumps({**shape, "start": start.isoformat()}).encode()
    write_atomic(path, lambda out: out.write(text))
    return start


def _saved_schedule(path: Path) -> CompressedSchedule | None:
    """The compressed schedule saved at ``path``, if any (None: none, or unreadable)."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        start = datetime.fromisoformat(saved["start"])
        return CompressedSchedule(start, saved["round_seconds"], saved["window_seconds"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # none yet, or unreadable: a new schedule from now


def _numbering_on(old: CompressedSchedule, now: datetime, period: timedelta) -> datetime:
    """The start of a schedule of rounds ``period`` long whose round after ``old``'s current
    one opens ``now`` (now itself when ``old`` starts later: it has no round yet)."""
    if old.start > now:
        return now
    return now - (old.current(now).number + 1 - ANCHOR_ROUND) * period


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


class ScheduleChangeError(ValueError):
    """A change of the schedule the sandbox refuses (a round that already opened, ...)."""


class IrregularSchedule:
    """A schedule with Numerai's irregular days: a day skipped (no round), a round that
    opens late, a round whose staking window is shorter or longer than usual.

    Each round of the regular ``base`` schedule is a *slot*; a skipped slot has no round and
    the rounds after it keep counting (the round that would have opened there opens at the
    next slot, one number on). A late round opens ``delay`` after its slot's open, and the
    round before it closes at its usual time (between the two, no round is open). A staking
    window of its own closes staked submissions that long after the round's open; late ones
    are taken until the slot's usual close, or the staking close if later, never past the
    next round's open. Only rounds that have not opened yet can be changed."""

    def __init__(self, base: Schedule, clock: SandboxClock) -> None:
        self.base, self.clock = base, clock
        self._skipped: set[int] = set()  # slots
        self._delays: dict[int, timedelta] = {}  # by round number
        self._staking: dict[int, timedelta] = {}  # by round number
        self._lock = threading.RLock()

    def _slot(self, number: int) -> int:
        slot = number
        for skipped in sorted(self._skipped):
            if skipped <= slot:
                slot += 1
        return slot

    def _open(self, number: int) -> datetime:
        return self.base.window(self._slot(number)).open_time + self._delays.get(
            number, timedelta(0)
        )

    def window(self, number: int) -> RoundWindow:
        with self._lock:
            usual = self.base.window(self._slot(number))
            opens = self._open(number)
            staking = self._staking.get(number, usual.close_staking_time - usual.open_time)
            close_staking = opens + staking
            closes = min(max(usual.close_time, close_staking), self._open(number + 1))
            close_staking = min(close_staking, closes)
            resolve = usual.resolve_time + max(timedelta(0), closes - usual.close_time)
            return RoundWindow(number, opens, close_staking, closes, resolve)

    def current(self, now: datetime) -> RoundWindow:
        with self._lock:
            slot = self.base.current(now).number
            number = slot - sum(1 for s in self._skipped if s <= slot)
            while number > ANCHOR_ROUND and self._open(number) > now:
                number -= 1
            while self._open(number + 1) <= now:
                number += 1
            return self.window(number)

    def _upcoming(self, number: int | None) -> int:
        """``number``, or the next round when None; refused when that round opened."""
        current = self.current(self.clock.now()).number
        if number is None:
            return current + 1
        if number <= current:
            raise ScheduleChangeError(
                f"round {number} has opened already (the current round is {current}); "
                f"change round {current + 1} or a later one."
            )
        return number

    def skip(self, number: int | None = None) -> int:
        """Skip the day round ``number`` (default: the next) would open on; it opens at the
        next slot instead. Returns the round number."""
        with self._lock:
            number = self._upcoming(number)
            self._skipped.add(self._slot(number))
            return number

    def delay(self, seconds: float, number: int | None = None) -> int:
        """Open round ``number`` (default: the next) ``seconds`` late (sandbox clock)."""
        with self._lock:
            number = self._upcoming(number)
            slot = self._slot(number)
            room = self.base.window(slot + 1).open_time - self.base.window(slot).open_time
            if not 0 <= seconds < room.total_seconds():
                raise ScheduleChangeError(
                    f"a delay of {seconds:g} s is not possible for round {number}: give 0 or "
                    f"more seconds, less than {room.total_seconds():g} (when the slot after "
                    "it opens; skip that day instead)."
                )
            self._delays[number] = timedelta(seconds=seconds)
            return number

    def staking(self, seconds: float, number: int | None = None) -> int:
        """Give round ``number`` (default: the next) a staking window of ``seconds``."""
        with self._lock:
            number = self._upcoming(number)
            if not seconds > 0:
                raise ScheduleChangeError(
                    f"a staking window of {seconds:g} s is not possible: give more than 0 s."
                )
            self._staking[number] = timedelta(seconds=seconds)
            return number
