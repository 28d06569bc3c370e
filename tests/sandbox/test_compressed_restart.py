"""A compressed sandbox restarted on the same data folder goes on with its rounds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from numerpilot.sandbox.schedule import (
    ANCHOR_ROUND,
    COMPRESSED_STATE,
    CompressedSchedule,
    compressed_start,
)


def test_a_restarted_compressed_schedule_numbers_on(tmp_path: Path) -> None:
    """Served for a while (round 630 current), stopped and served again from the same
    folder: its round numbers go on from the old ones (they began at 600 again, which a
    daemon's ledger held as submitted: it submitted nothing for 30 rounds)."""
    first = compressed_start(tmp_path, 10.0, 6.0)
    state = json.loads((tmp_path / COMPRESSED_STATE).read_text())
    state["start"] = (first - timedelta(seconds=300)).isoformat()  # five minutes ago
    (tmp_path / COMPRESSED_STATE).write_text(json.dumps(state))
    again = compressed_start(tmp_path, 10.0, 6.0)
    now = datetime.now(UTC)
    assert CompressedSchedule(again, 10.0, 6.0).current(now).number >= ANCHOR_ROUND + 30


def _save_start(folder: Path, start: datetime) -> None:
    state = json.loads((folder / COMPRESSED_STATE).read_text())
    (folder / COMPRESSED_STATE).write_text(json.dumps({**state, "start": start.isoformat()}))


@pytest.mark.parametrize("shape", [(20.0, 12.0), (10.0, 3.0)], ids=["round", "window"])
def test_another_shape_numbers_on_from_the_old_ones_current_round(
    tmp_path: Path, shape: tuple[float, float]
) -> None:
    """Served again with another --round-seconds or --window-seconds: it began at 600
    again (numbers the daemon's ledger held); the round after the old one's current round
    opens now, and the new schedule is the one saved."""
    first = compressed_start(tmp_path, 10.0, 6.0)
    _save_start(tmp_path, first - timedelta(seconds=305))  # round 630 current
    other = compressed_start(tmp_path, *shape)
    now = datetime.now(UTC)
    current = CompressedSchedule(other, *shape).current(now)
    assert current.number == ANCHOR_ROUND + 31
    assert timedelta(0) <= now - current.open_time < timedelta(seconds=5)
    assert compressed_start(tmp_path, *shape) == other  # saved: restarts go on from it


def test_a_saved_start_ahead_of_the_clock_starts_now(tmp_path: Path) -> None:
    """A saved start in the future (the clock went back, a state copied from elsewhere)
    numbered the rounds below 600, which the API does not know."""
    first = compressed_start(tmp_path, 10.0, 6.0)
    _save_start(tmp_path, first + timedelta(hours=1))
    start = compressed_start(tmp_path, 10.0, 6.0)
    now = datetime.now(UTC)
    assert start <= now and CompressedSchedule(start, 10.0, 6.0).current(now).number == 600
    assert compressed_start(tmp_path, 10.0, 6.0) == start  # saved


def test_an_unreadable_state_starts_a_new_schedule(tmp_path: Path) -> None:
    (tmp_path / COMPRESSED_STATE).write_text("{not json")
    start = compressed_start(tmp_path, 10.0, 6.0)
    assert abs((datetime.now(UTC) - start).total_seconds()) < 5
    assert json.loads((tmp_path / COMPRESSED_STATE).read_text())["round_seconds"] == 10.0
