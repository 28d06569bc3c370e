"""The submission ledger: one sqlite row per confirmed upload, in ``state.db``.

A row is written only after Numerai confirmed the submission (``create_submission``
returned an id), inside a transaction, so the ledger never claims an upload that did not
happen. ``submit`` reads it to make a second submission in the same round a no-op.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

Status = Literal["uploaded", "already_done", "dry_run"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tournament TEXT NOT NULL,
    model_name TEXT NOT NULL,
    model_id TEXT NOT NULL,
    round INTEGER NOT NULL,
    submission_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    path TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS submissions_by_round ON submissions (tournament, model_id, round);
"""


@dataclass(frozen=True)
class SubmissionRecord:
    """One model's submission in one round (``submission_id`` is None for a dry run)."""

    tournament: str
    model_name: str
    model_id: str
    round: int
    submission_id: str | None
    sha256: str
    path: str
    created_at: str
    status: Status = "uploaded"


class Ledger:
    """Read and append submission records in a sqlite file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30)
        try:
            with conn:
                conn.executescript(_SCHEMA)
            yield conn
        finally:
            conn.close()

    def find(self, tournament: str, model_id: str, round: int) -> SubmissionRecord | None:
        """The latest confirmed submission of a model in a round, if any."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT tournament, model_name, model_id, round, submission_id, sha256, path,"
                " created_at FROM submissions WHERE tournament = ? AND model_id = ? AND"
                " round = ? ORDER BY id DESC LIMIT 1",
                (tournament, model_id, round),
            ).fetchone()
        return SubmissionRecord(*row) if row else None

    def record(self, record: SubmissionRecord) -> None:
        """Append a confirmed upload (one atomic transaction)."""
        if not record.submission_id:
            raise ValueError("only confirmed submissions (with an id) are recorded")
        with self._connect() as conn, conn:
            conn.execute(
                "INSERT INTO submissions (tournament, model_name, model_id, round,"
                " submission_id, sha256, path, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.tournament,
                    record.model_name,
                    record.model_id,
                    record.round,
                    record.submission_id,
                    record.sha256,
                    record.path,
                    record.created_at,
                ),
            )

    def history(self, limit: int = 20) -> list[SubmissionRecord]:
        """The most recent confirmed submissions, newest first."""
        if not self.path.exists():
            return []
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT tournament, model_name, model_id, round, submission_id, sha256, path,"
                " created_at FROM submissions ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [SubmissionRecord(*row) for row in rows]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
