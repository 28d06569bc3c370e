"""A compressed sandbox restarted on the same data folder goes on with its rounds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
    other = compressed_start(tmp_path, 20.0, 12.0)  # another shape: a new schedule
    assert CompressedSchedule(other, 20.0, 12.0).current(now).number == ANCHOR_ROUND


def test_an_unreadable_state_starts_a_new_schedule(tmp_path: Path) -> None:
    (tmp_path / COMPRESSED_STATE).write_text("{not json")
    start = compressed_start(tmp_path, 10.0, 6.0)
    assert abs((datetime.now(UTC) - start).total_seconds()) < 5
    assert json.loads((tmp_path / COMPRESSED_STATE).read_text())["round_seconds"] == 10.0
