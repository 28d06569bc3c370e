"""The server's clock, and when the next round is expected: "now" comes from the API.

The daemon never trusts the local clock for the schedule: a skewed machine clock must not
make it miss a window. It reads the time from the API's ``Date`` header and the round
times, and measures how fast the server's clock runs against the local monotonic clock
(1.0 for Numerai; faster for a sandbox whose clock is accelerated), so that a sleep of
"until shortly before the next round" lasts the right number of real seconds.
"""

from __future__ import annotations

import itertools
import logging
import statistics
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from numerpilot.api.rounds import RoundInfo
from numerpilot.config import DaemonConfig
from numerpilot.words import clock_time, span

log = logging.getLogger(__name__)

#: Clock rates below this count as real time (the Date header has 1-second resolution).
_ACCELERATED = 2.0
_WINDOW = 32
#: Pairs of samples at least this many real seconds apart, and at least this many of them.
_MIN_GAP, _MIN_PAIRS = 0.2, 3
#: A pair of samples agrees with a rate when the server's clock moved as that rate says,
#: give or take half of it and the Date header's 1-second resolution (twice).
_SLACK, _RESOLUTION = 0.5, 2.0


@dataclass(frozen=True)
class _Pair:
    """Two samples in a row: where the later one is, and how far each clock moved."""

    index: int
    real: float
    server: float

    @property
    def rate(self) -> float:
        return self.server / self.real

    def agrees(self, rate: float) -> bool:
        """Whether the server's clock moved as ``rate`` says (no jump, no other rate)."""
        expected = rate * self.real
        return abs(self.server - expected) <= _RESOLUTION + _SLACK * expected


class ServerClock:
    """Samples (local monotonic seconds, server time) and the rate between the two."""

    def __init__(self) -> None:
        self._samples: deque[tuple[float, datetime]] = deque(maxlen=_WINDOW)

    def observe(self, server_time: datetime | None, received_at: float) -> None:
        """Record the server's clock at a local monotonic instant (an API answer)."""
        if server_time is None:
            return
        if self._samples and server_time < self._samples[-1][1]:
            self._samples.clear()  # the server's clock jumped back: start over
        if len(self._samples) >= 2 and self._samples[-1][0] - self._samples[-2][0] < _MIN_GAP:
            self._samples.pop()  # too close to the one before to measure: the newest replaces it
        self._samples.append((received_at, server_time))
        self._forget_an_old_rate()

    def _in_a_row(self) -> list[_Pair]:
        """Every two samples in a row (only the newest may be closer than ``_MIN_GAP`` to
        the one before: :meth:`observe` keeps the others apart, so fast polls measure too)."""
        samples = list(self._samples)
        return [
            _Pair(
                k,
                samples[k][0] - samples[k - 1][0],
                (samples[k][1] - samples[k - 1][1]).total_seconds(),
            )
            for k in range(1, len(samples))
        ]

    def _pairs(self) -> list[_Pair]:
        """Samples in a row far enough apart to measure the rate between them."""
        return [pair for pair in self._in_a_row() if pair.real >= _MIN_GAP]

    def _rates(self) -> list[float]:
        return [pair.rate for pair in self._pairs()]

    def _forget_an_old_rate(self) -> None:
        """The server's clock runs at another rate now (a sandbox restarted at another
        speed): once the last few pairs agree with each other and not with the window's
        median, only they count (else the old rate would hold for half the window)."""
        pairs = self._pairs()
        if len(pairs) <= _MIN_PAIRS:
            return
        recent = pairs[-_MIN_PAIRS:]
        median = float(statistics.median(pair.rate for pair in pairs))
        now = float(statistics.median(pair.rate for pair in recent))
        if all(p.agrees(now) and not p.agrees(median) for p in recent):
            for _ in range(recent[0].index - 1):
                self._samples.popleft()

    @property
    def measured(self) -> bool:
        """Whether the rate is known: enough samples, the last of which agrees with it
        (until then it reads 1.0, and a long sleep could pass a whole round of an
        accelerated sandbox; after a jump or a change of rate, the next poll looks again)."""
        pairs = self._pairs()
        if len(pairs) < _MIN_PAIRS:
            return False
        newest = self._in_a_row()[-1]  # up to the newest sample, however close
        return newest.agrees(float(statistics.median(pair.rate for pair in pairs)))

    @property
    def rate(self) -> float:
        """Server seconds per real second: the median over recent sample pairs, so that one
        jump of the server's clock does not count (1.0 unless clearly accelerated)."""
        rates = self._rates()
        if len(rates) < _MIN_PAIRS:
            return 1.0
        rate = float(statistics.median(rates))
        return rate if rate >= _ACCELERATED else 1.0

    def now(self) -> datetime:
        """The server's time now (extrapolated from the last sample at :attr:`rate`)."""
        if not self._samples:
            raise RuntimeError("no answer from the server yet")
        mono, server = self._samples[-1]
        return server + timedelta(seconds=(time.monotonic() - mono) * self.rate)

    def real_seconds(self, until: datetime) -> float:
        """Real seconds from now until the server's clock shows ``until`` (>= 0)."""
        return max(0.0, (until - self.now()).total_seconds() / self.rate)


def _period(opens: list[datetime], tolerance: timedelta) -> timedelta | None:
    """The shortest shift that maps every open of ``opens`` (sorted) onto another open, both
    ways, wherever the history covers both, within ``tolerance``, in a history at least two
    shifts long (Numerai: a week, its five rounds twice; a compressed schedule: its gap).
    None when no shift fits (a round skipped or moved) or the history is too short."""
    first, last = opens[0], opens[-1]

    def seen(when: datetime) -> bool:
        return any(abs(when - o) <= tolerance for o in opens)

    for k in range(len(opens) - 2, -1, -1):  # the shifts, shortest first
        period = last - opens[k]
        if last - first < 2 * period - tolerance:
            return None  # this one and every longer one: too little history to tell
        later = all(seen(o + period) for o in opens if o + period <= last + tolerance)
        if later and all(seen(o - period) for o in opens if o - period >= first - tolerance):
            return period
    return None


def _usual(opens: list[datetime], period: timedelta, tolerance: timedelta) -> timedelta:
    """The usual length of ``period``: the median shift between the opens it maps onto each
    other (a round that opened late, often the newest, does not move it: the next round is
    expected at its usual time, not as late)."""
    shifts = [
        min((abs(o + period - other), other - o) for other in opens)[1]
        for o in opens
        if o + period <= opens[-1] + tolerance
    ]
    return statistics.median_low(shifts) if shifts else period


def expected_next_open(rounds: list[RoundInfo], now: datetime | None = None) -> datetime:
    """When the round after the newest of ``rounds`` should open. When the history repeats
    itself (Numerai: each week's opens are the last week's plus seven days; a compressed
    schedule: every gap), the open one period after the first one that follows the newest
    a period earlier (after Saturday's round: Tuesday's, as a week ago), at its usual time
    (a round that opened late moves no other); once that time has passed with no new round,
    the round is overdue (a day skipped, or a round hours late: not the weekend's gap, over
    which a retrain could run through the round). Otherwise the
    newest open plus the shortest gap between recent opens; once that time is well past
    (an eighth of the gap) with no new round, the next longer gap seen is expected
    instead (Numerai's weekend: three days). Either way, so that the gap is used for
    retraining rather than polled through; nothing of the schedule is assumed (with a
    single round known, the next is due: the daemon looks at every poll)."""
    opens = sorted({r.open_time for r in rounds})
    gaps = sorted({b - a for a, b in itertools.pairwise(opens) if b > a})
    if not gaps:  # one round known (a sandbox's first): no rhythm to go by, so it is due
        return opens[-1]
    grace = gaps[0] / 8
    period = _period(opens, grace) if len(opens) > 2 else None
    if period is not None:
        period = _usual(opens, period, grace)
        # past (a day skipped, a round hours late): overdue, not the weekend's gap
        return min(o + period for o in opens if o + period > opens[-1] + grace)
    for gap in gaps:
        if now is None or opens[-1] + gap + grace > now:
            return opens[-1] + gap
    return opens[-1] + gaps[0]  # later than every gap seen: overdue, look often


#: The most polls the daemon waits between two passes that failed (4 minutes by default).
BACKOFF_POLLS = 4


def backoff_seconds(settings: DaemonConfig, failures: int) -> float:
    """Seconds to wait after ``failures`` failed passes in a row: two polls, then four at
    most, so that a round's hour is not slept through once Numerai is back."""
    polls: int = min(2**failures, BACKOFF_POLLS)
    return min(settings.poll_seconds * polls, settings.max_sleep_seconds)


class ClockJumps:
    """The spans of server time the server's clock jumped over between two passes (a
    sandbox restarted with a later ``--start`` or a faster ``--speed``): the rounds that
    opened and closed there could not be submitted, and are no miss of the user's.

    Measured against the local wall clock, which (unlike the monotonic one) runs on while
    the machine sleeps: rounds a sleeping machine slept through are missed."""

    def __init__(self) -> None:
        self._seen: tuple[float, datetime] | None = None  # the last pass: wall time, server time
        self._spans: list[tuple[datetime, datetime]] = []
        self._said: set[tuple[int, str]] = set()  # the rounds and models excused

    def note(self, now: datetime, rate: float | None) -> None:
        """A pass saw the server's clock at ``now``; ``rate``: as measured before this look,
        None while unknown (a fast clock then moves on as much as a jump: no warning)."""
        wall = time.time()
        seen, self._seen = self._seen, (wall, now)
        if seen is None:
            return
        expected = max(0.0, wall - seen[0]) * (rate or 1.0)
        if (now - seen[1]).total_seconds() <= expected * (1 + _SLACK) + _RESOLUTION:
            return
        self._spans.append((seen[1], now))
        if rate is not None:
            log.warning("the server's clock jumped from %s to %s UTC while %s passed here (a "
                        "sandbox restarted with a later --start or another --speed?): rounds "
                        "that opened and closed in between could not be submitted and are not "
                        "counted as missed", f"{seen[1]:%a %Y-%m-%d %H:%M}",
                        f"{now:%a %Y-%m-%d %H:%M}", span(wall - seen[0]))  # fmt: skip

    def excused(self, info: RoundInfo, model: str, missed: str) -> bool:
        """Whether the round opened and closed while the server's clock jumped, so that
        ``missed`` (its model's miss) is no miss of the user's: logged once, not alerted."""
        if not any(a < info.open_time and info.close_time <= b for a, b in self._spans):
            return False
        if (info.number, model) not in self._said:
            self._said.add((info.number, model))
            log.warning("%s: it opened and closed between two looks at the server's clock, "
                        "which jumped (no alert)", missed,
                        extra={"round": info.number, "model": model})  # fmt: skip
        return True


def next_look(wake: datetime, closes: datetime | None, now: datetime) -> str:
    """When the daemon looks again, as a person reads it: at ``wake`` (before the next round
    is expected; past: it is due now), and first at ``closes`` (to retrain)."""
    if wake <= now:
        return "looking again at every poll: the next round is due"
    then = f"{clock_time(wake)} UTC, before the next round is expected"
    if closes is None:
        return f"looking again at {then}"
    closing = f"{clock_time(closes)} UTC when it closes (to retrain if due)"
    return f"looking again at {closing}, and at {then}"
