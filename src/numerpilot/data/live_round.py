"""Which round a version folder's ``live.parquet`` belongs to: ``live.round.json``.

Live files change every round. The download records the round, when it closes, how far
the server's clock is from this machine's, and each per-round file's SHA-256 here;
``predict`` tells from it, without the network, whether the round is still open, copies
the round into its sidecar, and ``submit`` refuses a live file of another round.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from numerpilot.data import layout
from numerpilot.io import write_json_atomic

LIVE_ROUND_FILE = "live.round.json"


def read_live_round(folder: Path) -> dict[str, Any] | None:
    """``live.round.json`` of a version folder, or None when missing or unreadable."""
    path = folder / LIVE_ROUND_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("round"), int) else None


def live_round_number(folder: Path) -> int | None:
    """The round of the folder's live files, or None when unknown."""
    marker = read_live_round(folder)
    return int(marker["round"]) if marker else None


def write_live_round(
    folder: Path,
    number: int,
    hashes: dict[str, str],
    *,
    closes: datetime | None = None,
    clock_offset: timedelta | None = None,
) -> None:
    """Record the round, its close time, the server clock's offset from this machine's
    and the SHA-256 of each per-round file (atomically)."""
    marker: dict[str, Any] = {
        "round": number,
        "sha256": hashes.get(layout.LIVE),
        "files": dict(sorted(hashes.items())),
    }
    if closes is not None:
        marker["closes"] = closes.astimezone(UTC).isoformat()
        marker["clock_offset_s"] = (clock_offset or timedelta()).total_seconds()
    write_json_atomic(folder / LIVE_ROUND_FILE, marker)


@dataclass(frozen=True)
class LiveRound:
    """The round of a folder's live files and, when recorded, when it closes."""

    number: int
    closes: datetime | None
    clock_offset: timedelta

    def is_open(self, now: datetime | None = None) -> bool | None:
        """Whether the round is still open on the server's clock (None: not recorded)."""
        if self.closes is None:
            return None
        return (now or datetime.now(UTC)) + self.clock_offset < self.closes


def live_round(folder: Path) -> LiveRound | None:
    """The folder's :class:`LiveRound`, or None when ``live.round.json`` is missing."""
    marker = read_live_round(folder)
    if marker is None:
        return None
    try:
        closes = datetime.fromisoformat(str(marker["closes"]))
        offset = timedelta(seconds=float(marker.get("clock_offset_s") or 0.0))
    except (KeyError, TypeError, ValueError):
        closes, offset = None, timedelta()
    return LiveRound(int(marker["round"]), closes, offset)
