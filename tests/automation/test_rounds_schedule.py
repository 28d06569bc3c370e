"""Numerai's irregular days, on the sandbox's schedule: a round that opens late, a day
skipped, a staking window of its own; and when the daemon expects the next round then."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from numerpilot.api.rounds import RoundInfo
from numerpilot.automation.clock import expected_next_open
from numerpilot.sandbox import SandboxServer
from numerpilot.sandbox.schedule import (
    CompressedSchedule,
    IrregularSchedule,
    RoundWindow,
    SandboxClock,
    ScheduleChangeError,
    WeeklySchedule,
)

#: A Thursday evening, after that day's round closed.
THURSDAY = datetime(2026, 12, 3, 19, tzinfo=UTC)


def weekly(now: datetime = THURSDAY) -> IrregularSchedule:
    return IrregularSchedule(WeeklySchedule(), SandboxClock(now, speed=1e-9))


def history(schedule: IrregularSchedule, newest: int, now: datetime) -> list[RoundInfo]:
    """The 11 newest rounds as the daemon reads them, newest first."""

    def info(window: RoundWindow) -> RoundInfo:
        return RoundInfo(window.number, window.open_time, window.close_staking_time,
                         window.close_time, now)  # fmt: skip

    return [info(schedule.window(newest - k)) for k in range(11)]


def test_a_late_round_opens_late_and_the_next_one_on_time() -> None:
    schedule = weekly()
    friday = schedule.current(THURSDAY).number + 1
    assert schedule.delay(20 * 60) == friday
    window = schedule.window(friday)
    assert window.open_time == datetime(2026, 12, 4, 12, 20, tzinfo=UTC)
    assert window.close_staking_time == datetime(2026, 12, 4, 13, 20, tzinfo=UTC)
    assert schedule.window(friday - 1).close_time == datetime(2026, 12, 3, 19, tzinfo=UTC)
    assert schedule.current(datetime(2026, 12, 4, 12, 10, tzinfo=UTC)).number == friday - 1
    assert schedule.current(datetime(2026, 12, 4, 12, 20, tzinfo=UTC)).number == friday
    # the daemon, after Friday's late round: Saturday's is expected at 12:00, as usual
    rounds = history(schedule, friday, datetime(2026, 12, 4, 14, tzinfo=UTC))
    assert expected_next_open(rounds) == datetime(2026, 12, 5, 12, tzinfo=UTC)


def test_a_skipped_day_has_no_round_and_the_numbers_go_on() -> None:
    schedule = weekly()
    friday = schedule.current(THURSDAY).number + 1
    assert schedule.skip() == friday
    window = schedule.window(friday)
    assert window.open_time == datetime(2026, 12, 5, 12, tzinfo=UTC)  # Saturday's slot
    assert window.close_staking_time == datetime(2026, 12, 6, 14, tzinfo=UTC)
    assert schedule.window(friday + 1).open_time == datetime(2026, 12, 8, 12, tzinfo=UTC)
    assert schedule.current(datetime(2026, 12, 4, 13, tzinfo=UTC)).number == friday - 1
    assert not schedule.window(friday - 1).is_open(datetime(2026, 12, 4, 13, tzinfo=UTC))


def test_a_staking_window_of_its_own() -> None:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    schedule = IrregularSchedule(CompressedSchedule(start, 20, 12), SandboxClock(start, 1e-9))
    assert schedule.staking(3) == 601
    assert schedule.staking(40, 602) == 602
    short, long = schedule.window(601), schedule.window(602)
    assert (short.close_staking_time - short.open_time).total_seconds() == 3
    assert short.close_time == schedule.window(602).open_time
    assert long.close_staking_time == long.close_time == schedule.window(603).open_time


def test_only_rounds_not_open_yet_change() -> None:
    schedule = weekly()
    current = schedule.current(THURSDAY).number
    with pytest.raises(ScheduleChangeError, match=f"change round {current + 1} or a later"):
        schedule.skip(current)
    with pytest.raises(ScheduleChangeError, match="less than 86400"):
        schedule.delay(timedelta(days=1).total_seconds())
    with pytest.raises(ScheduleChangeError, match="more than 0 s"):
        schedule.staking(0)


def test_after_a_skipped_day_the_next_round_is_overdue() -> None:
    """Wednesday skipped: once Wednesday's time has passed, the next round is overdue (the
    daemon looks at every poll); before, the weekend's three days were expected: a retrain
    could run through Thursday's round, and a fast sandbox was slept through to Friday."""
    schedule = weekly(datetime(2026, 12, 8, 13, tzinfo=UTC))  # Tuesday's round is open
    tuesday = schedule.current(schedule.clock.now()).number
    assert schedule.skip() == tuesday + 1
    assert schedule.window(tuesday + 1).open_time == datetime(2026, 12, 10, 12, tzinfo=UTC)
    wednesday = datetime(2026, 12, 9, 16, tzinfo=UTC)
    rounds = history(schedule, tuesday, wednesday)
    assert expected_next_open(rounds, datetime(2026, 12, 9, 11, tzinfo=UTC)) == datetime(
        2026, 12, 9, 12, tzinfo=UTC
    )
    assert expected_next_open(rounds, wednesday) < wednesday


def _post(url: str) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, dict(json.load(answer))
    except urllib.error.HTTPError as error:
        return error.code, dict(json.load(error))


def test_the_sandbox_routes_change_the_next_round_and_say_how(sandbox: SandboxServer) -> None:
    """``POST /sandbox/delay|skip|staking``: the round's new times back, and what to give
    instead of a value they refuse; the API's rounds list the new times."""
    current = sandbox.state.current().number
    code, body = _post(sandbox.url + "sandbox/delay?seconds=1200")
    assert code == 200 and body["round"] == current + 1
    assert str(body["openTime"]).endswith("12:20:00Z")
    code, body = _post(sandbox.url + f"sandbox/staking?round={current + 2}&seconds=1800")
    assert code == 200 and str(body["closeStakingTime"]).endswith("12:30:00Z")
    for query, says in [
        ("delay?seconds=x", "seconds='x' is no finite number"),
        ("delay?seconds=nan", "no finite number"),
        ("delay", "needs ?seconds=S"),
        ("staking?seconds=-5", "give more than 0 s"),
        (f"skip?round={current}", f"round {current} has opened already"),
        ("skip?round=abc", "round='abc' is no whole number"),
    ]:
        code, body = _post(sandbox.url + "sandbox/" + query)
        assert code == 400 and says in str(body["error"]), (query, body)
    assert sandbox.state.current().number == current  # nothing of the above changed it
