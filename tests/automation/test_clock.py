"""The server clock: its rate against the local one, jumps, and the next expected round."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from numerpilot.api.rounds import RoundInfo
from numerpilot.automation.clock import ServerClock, expected_next_open

T0 = datetime(2026, 5, 5, 12, tzinfo=UTC)


def test_rate_is_measured_and_robust_to_a_jump() -> None:
    clock = ServerClock()
    for k in range(6):  # an accelerated server: an hour per real second
        clock.observe(T0 + timedelta(hours=k), 100.0 + k)
    assert clock.rate == 3600.0
    assert clock.real_seconds(T0 + timedelta(hours=5 + 36)) <= 36.0
    real = ServerClock()
    for k in range(6):
        real.observe(T0 + timedelta(seconds=k), 100.0 + k)
    assert real.measured
    real.observe(T0 + timedelta(days=1), 106.0)  # one jump (a test advancing the clock)
    assert real.rate == 1.0
    assert not real.measured  # the next poll looks again before a long sleep
    real.observe(T0 + timedelta(days=1, seconds=1), 107.0)
    assert real.rate == 1.0 and real.measured


def test_a_new_rate_counts_after_a_few_polls() -> None:
    """A sandbox restarted an hour per second (and a month later) while the daemon ran at
    real time: a long sleep at the old rate would pass weeks of rounds. The first look
    after the change is not trusted; after three agreeing pairs the new rate counts (not
    after half of the 32 samples' window)."""
    clock = ServerClock()
    for k in range(20):  # at real time, a poll a second
        clock.observe(T0 + timedelta(seconds=k), 100.0 + k)
    assert clock.rate == 1.0 and clock.measured
    later = T0 + timedelta(days=31)
    rates, measured = [], []
    for k in range(4):  # polls a quarter second apart: 900 server seconds each
        clock.observe(later + timedelta(seconds=900 * k), 130.0 + 0.25 * k)
        rates.append(clock.rate)
        measured.append(clock.measured)
    assert measured == [False, False, False, True]
    assert rates[-1] == 3600.0
    assert clock.real_seconds(later + timedelta(seconds=900 * 3 + 3600)) <= 1.0


def test_the_next_round_is_expected_after_the_shortest_recent_gap() -> None:
    def info(hours: float) -> RoundInfo:
        opened = T0 + timedelta(hours=hours)
        return RoundInfo(1, opened, opened + timedelta(hours=1), opened + timedelta(days=1), T0)

    week = [info(h) for h in (0, 24, 48, 72, 168)]  # Tue..Fri, then the next Tuesday
    assert expected_next_open(week) == T0 + timedelta(hours=192)
    fast = [info(k * 20 / 3600) for k in range(4)]  # a compressed schedule: 20 s
    assert expected_next_open(fast) == T0 + timedelta(seconds=80)


def test_a_longer_gap_is_expected_once_the_shortest_is_well_past() -> None:
    """Numerai's weekend: after Saturday's round, no round on Sunday; from a while after
    Sunday's expected open, Tuesday's is expected (the daemon retrains in between)."""

    def info(days: float) -> RoundInfo:
        opened = T0 + timedelta(days=days)
        return RoundInfo(1, opened, opened + timedelta(hours=1), opened + timedelta(days=1), T0)

    week = [info(d) for d in (-3, 0, 1, 2, 3, 4)]  # Sat, then Tue..Sat (T0 is a Tuesday)
    saturday = T0 + timedelta(days=4)
    assert expected_next_open(week) == saturday + timedelta(days=1)
    sunday_open = saturday + timedelta(days=1)
    assert expected_next_open(week, sunday_open - timedelta(hours=1)) == sunday_open
    assert expected_next_open(week, sunday_open + timedelta(hours=2)) == sunday_open  # late?
    assert expected_next_open(week, sunday_open + timedelta(hours=4)) == T0 + timedelta(days=7)
    overdue = T0 + timedelta(days=7, hours=4)  # no round on Tuesday either: look often
    assert expected_next_open(week, overdue) == sunday_open


def test_the_rate_is_unknown_until_enough_samples() -> None:
    clock = ServerClock()
    for k in range(3):
        assert not clock.measured
        clock.observe(T0 + timedelta(minutes=k), 100.0 + k)
    clock.observe(T0 + timedelta(minutes=3), 103.0)
    assert clock.measured and clock.rate == 60.0


def test_after_saturdays_round_tuesdays_is_expected_from_the_weekly_rhythm() -> None:
    """Two weeks of Numerai's rounds: after Saturday's, the history shows the next open a
    week after the one that followed last Saturday's (Tuesday): Sunday morning, while
    Saturday's round still takes submissions, is not polled through every minute."""

    def info(days: float) -> RoundInfo:
        opened = T0 + timedelta(days=days)
        return RoundInfo(1, opened, opened + timedelta(hours=1), opened + timedelta(days=1), T0)

    days = (-3, 0, 1, 2, 3, 4, 7, 8, 9, 10, 11)  # Sat, Tue..Sat, Tue..Sat (T0 is a Tuesday)
    saturday, tuesday = T0 + timedelta(days=11), T0 + timedelta(days=14)
    two_weeks = [info(d) for d in days]
    for hours in (1, 23, 24.5, 26, 60):  # Saturday 13:00 to Monday
        assert expected_next_open(two_weeks, saturday + timedelta(hours=hours)) == tuesday
    overdue = tuesday + timedelta(hours=4)  # no round on Tuesday: look often
    assert expected_next_open(two_weeks, overdue) < overdue
    thursday = [info(d) for d in days[:-2]]  # from Thursday, Friday's is expected
    assert expected_next_open(thursday, T0 + timedelta(days=9, hours=2)) == T0 + timedelta(days=10)
    skipped = [info(d) for d in days if d != 2]  # a round skipped: the shortest gap, as before
    assert expected_next_open(skipped, saturday + timedelta(hours=23)) == saturday + timedelta(1)


def test_with_one_round_known_the_next_is_due_at_once() -> None:
    """A compressed sandbox just started lists one round: no gap is known, so the daemon
    looks at every poll (it assumed a day, and slept max_sleep_seconds through 45 rounds
    of 20 s)."""
    opened = T0 - timedelta(seconds=10)
    first = RoundInfo(600, opened, opened + timedelta(seconds=12), opened + timedelta(seconds=20),
                      T0)  # fmt: skip
    assert expected_next_open([first], T0) <= T0


def test_polls_faster_than_the_measuring_gap_still_measure_the_rate() -> None:
    """``poll_seconds = 0.05`` against a sandbox an hour per second: samples closer than
    0.2 s are thinned, not paired, so the rate is measured (it never was, and the daemon
    never slept longer than a poll), and a jump is still seen at the next look."""
    clock = ServerClock()
    for k in range(40):  # two seconds of polls 0.05 s apart
        clock.observe(T0 + timedelta(seconds=180 * k), 100.0 + 0.05 * k)
    assert clock.measured and clock.rate == 3600.0
    clock.observe(T0 + timedelta(days=30), 102.0)  # a sandbox restarted a month later
    assert not clock.measured
