"""Which round a version folder's ``live.parquet`` belongs to: ``live.round.json``.

Live files change every round. The download records the round and each per-round file's
SHA-256 here; ``predict`` copies the round into its sidecar and ``submit`` refuses a live
file of another round.
"""

from __future__ import annotations

import json
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


def write_live_round(folder: Path, number: int, hashes: dict[str, str]) -> None:
    """Record the round and the SHA-256 of each per-round file (atomically)."""
    marker = {
        "round": number,
        "sha256": hashes.get(layout.LIVE),
        "files": dict(sorted(hashes.items())),
    }
    write_json_atomic(folder / LIVE_ROUND_FILE, marker)
