"""The daemon's log: one plain line per step, or one JSON object per line (``--log-json``).

Structured fields given as ``extra={"round": ..., "model": ..., "event": ...}`` appear as
keys in JSON lines and as ``key=value`` in plain ones. Every message is redacted.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from numerpilot.credentials import redact

FIELDS = ("event", "round", "model", "outcome", "submission_id", "sleep_seconds")


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: getattr(record, k) for k in FIELDS if getattr(record, k, None) is not None}


class PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%d %H:%M:%S")
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        text = redact(record.getMessage())
        return f"{when} {record.levelname.lower():7} {text}" + (f" [{extra}]" if extra else "")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="seconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
            **_fields(record),
        }
        return json.dumps(body, default=str)


@contextlib.contextmanager
def to_stderr(json_lines: bool, verbose: bool = False) -> Iterator[None]:
    """Send the log to stderr in the chosen format while the block runs (the handlers that
    were there before are put back afterwards)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else PlainFormatter())
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    for old in saved:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("urllib3", "numerapi", "matplotlib", "lightgbm"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.removeHandler(handler)
        for old in saved:
            root.addHandler(old)
        root.setLevel(level)
