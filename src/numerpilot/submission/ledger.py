"""The submission ledger in ``state.db``: one row per (tournament, model, round).

A row moves ``planned`` -> ``uploading`` -> ``submitted`` (or ``failed``, or ``skipped``
for a model Numerai runs from an uploaded pickle). ``uploading`` is written, in its own
transaction, *before* anything is sent; a row left in ``uploading`` (a crash, a lost
answer) means "may have happened" and is reconciled with Numerai's list of the model's
submissions before anything is sent again. Every change is one sqlite transaction, so a
SIGKILL at any point leaves a consistent row.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from numerpilot.errors import DataError, LocalError
from numerpilot.submission.ledger_readonly import check_current_format, read_error, read_only

State = Literal["planned", "uploading", "submitted", "failed", "skipped"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rounds (
    tournament TEXT NOT NULL,
    model_id TEXT NOT NULL,
    round INTEGER NOT NULL,
    model_name TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    sha256 TEXT,
    submission_id TEXT,
    path TEXT,
    late INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tournament, model_id, round)
);
CREATE TABLE IF NOT EXISTS model_uploads (
    tournament TEXT NOT NULL,
    model_id TEXT NOT NULL,
    model_name TEXT NOT NULL,
    upload_id TEXT NOT NULL,
    uploaded_at TEXT NOT NULL,
    PRIMARY KEY (tournament, model_id)
);
"""
#: Rows of the ledger before states existed: confirmed uploads only.
_MIGRATE = """
INSERT OR IGNORE INTO rounds (tournament, model_id, round, model_name, state, attempts,
    sha256, submission_id, path, created_at, updated_at)
SELECT tournament, model_id, round, model_name, 'submitted', 1, sha256, submission_id, path,
    created_at, created_at FROM submissions;
DROP TABLE submissions;
"""
_COLUMNS = (
    "tournament, model_name, model_id, round, state, attempts, last_error, sha256, "
    "submission_id, path, late, created_at, updated_at"
)


@dataclass(frozen=True)
class LedgerRow:
    """One model's state in one round."""

    tournament: str
    model_name: str
    model_id: str
    round: int
    state: State
    attempts: int
    last_error: str | None
    sha256: str | None
    submission_id: str | None
    path: str | None
    late: bool
    created_at: str
    updated_at: str


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Ledger:
    """Read and change the per-round states in a sqlite file."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only  # ``status``: reads a ledger in a folder it cannot write

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        if self.read_only and not os.access(self.path.parent, os.W_OK):
            with self._reading() as conn:
                yield conn
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)  # autocommit
        except sqlite3.OperationalError as error:
            raise ledger_error(self.path, error) from error
        conn.row_factory = sqlite3.Row
        try:
            conn.execute("PRAGMA journal_mode=WAL")  # readers never block the one writer
            conn.executescript(_SCHEMA)
            old = conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name='submissions'"
            ).fetchone()
            if old:
                conn.executescript("BEGIN IMMEDIATE;" + _MIGRATE + "COMMIT;")
            yield conn
        except sqlite3.OperationalError as error:  # full disk, read-only file, locked too long
            raise ledger_error(self.path, error) from error
        except sqlite3.DatabaseError as error:  # another file, or a damaged one
            if error.sqlite_errorcode not in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
                raise
            raise not_a_ledger(self.path, error) from error
        finally:
            conn.close()

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """A connection that writes nothing beside the ledger (see :func:`read_only`), its
        failures one line each in words that say nothing was being changed."""
        try:
            with read_only(self.path) as conn:
                check_current_format(self.path, conn)
                yield conn
        except sqlite3.OperationalError as error:
            raise read_error(self.path, error) from error
        except sqlite3.DatabaseError as error:  # another file, or a damaged one
            if error.sqlite_errorcode not in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
                raise
            raise not_a_ledger(self.path, error) from error

    def get(self, tournament: str, model_id: str, round: int) -> LedgerRow | None:
        """The row of a model in a round, if any."""
        if not self.path.exists():
            return None
        with self._connect() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM rounds WHERE tournament = ? AND model_id = ? AND "
                "round = ?",
                (tournament, model_id, round),
            ).fetchone()
        return _row(row) if row else None

    def claim(
        self, tournament: str, model_name: str, model_id: str, round: int, sha256: str, path: str
    ) -> LedgerRow:
        """Mark the row ``uploading`` (one more attempt) before anything is sent."""
        now = now_iso()
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO rounds (tournament, model_id, round, model_name, state, attempts,"
                " sha256, path, created_at, updated_at) VALUES (?, ?, ?, ?, 'uploading', 1,"
                " ?, ?, ?, ?) ON CONFLICT (tournament, model_id, round) DO UPDATE SET"
                " state = 'uploading', attempts = attempts + 1, sha256 = excluded.sha256,"
                " path = excluded.path, last_error = NULL, updated_at = excluded.updated_at",
                (tournament, model_id, round, model_name, sha256, path, now, now),
            )
        row = self.get(tournament, model_id, round)
        assert row is not None
        return row

    def mark(
        self,
        tournament: str,
        model_name: str,
        model_id: str,
        round: int,
        state: State,
        *,
        error: str | None = None,
        submission_id: str | None = None,
        late: bool = False,
    ) -> None:
        """Set a row's state (created if missing), with its error or submission id."""
        now = now_iso()
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO rounds (tournament, model_id, round, model_name, state,"
                " last_error, submission_id, late, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tournament, model_id,"
                " round) DO UPDATE SET state = excluded.state, last_error = excluded.last_error,"
                " submission_id = COALESCE(excluded.submission_id, submission_id),"
                " late = excluded.late, updated_at = excluded.updated_at",
                (tournament, model_id, round, model_name, state, error, submission_id,
                 int(late), now, now),
            )  # fmt: skip

    def restore(self, row: LedgerRow, error: str) -> None:
        """Put ``row`` back as it was (a forced upload that failed leaves the round's
        earlier submission in place), noting ``error``."""
        with self._connect() as conn:
            conn.execute(
                "UPDATE rounds SET state = ?, sha256 = ?, path = ?, submission_id = ?,"
                " late = ?, last_error = ?, updated_at = ? WHERE tournament = ? AND"
                " model_id = ? AND round = ?",
                (row.state, row.sha256, row.path, row.submission_id, int(row.late), error,
                 now_iso(), row.tournament, row.model_id, row.round),
            )  # fmt: skip

    def history(self, limit: int = 20) -> list[LedgerRow]:
        """The most recently changed rows, newest first."""
        if not self.path.exists():
            return []
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM rounds ORDER BY round DESC, updated_at DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [_row(r) for r in rows]

    def unsettled(self, tournament: str, round: int) -> list[LedgerRow]:
        """The round's rows left ``uploading`` (a crash or a lost answer mid-upload)."""
        if not self.path.exists():
            return []
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM rounds WHERE tournament = ? AND round = ? AND "
                "state = 'uploading'",
                (tournament, round),
            ).fetchall()
        return [_row(r) for r in rows]

    def unsettled_rounds(self, tournament: str) -> list[int]:
        """The rounds with rows left ``uploading``, oldest first."""
        if not self.path.exists():
            return []
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT DISTINCT round FROM rounds WHERE tournament = ? AND "
                "state = 'uploading' ORDER BY round",
                (tournament,),
            ).fetchall()
        return [int(r[0]) for r in rows]

    def submitted_before(
        self, tournament: str, model_id: str, round: int, limit: int
    ) -> list[LedgerRow]:
        """The model's ``submitted`` rows of rounds before ``round``, newest first."""
        if not self.path.exists():
            return []
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM rounds WHERE tournament = ? AND model_id = ? AND "
                "round < ? AND state = 'submitted' ORDER BY round DESC LIMIT ?",
                (tournament, model_id, round, limit),
            ).fetchall()
        return [_row(r) for r in rows]

    def record_model_upload(
        self, tournament: str, model_name: str, model_id: str, upload_id: str
    ) -> None:
        """Remember that Numerai now runs this model from an uploaded pickle."""
        with self._connect() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO model_uploads VALUES (?, ?, ?, ?, ?)",
                (tournament, model_id, model_name, upload_id, now_iso()),
            )

    def model_upload(self, tournament: str, model_id: str) -> str | None:
        """The pickle upload Numerai runs for this model, if numerpilot uploaded one."""
        if not self.path.exists():
            return None
        with self._connect() as conn:
            row = conn.execute(
                "SELECT upload_id FROM model_uploads WHERE tournament = ? AND model_id = ?",
                (tournament, model_id),
            ).fetchone()
        return str(row[0]) if row else None


def ledger_error(path: Path, error: sqlite3.OperationalError) -> LocalError:
    """One line for a ledger the operating system would not let us change."""
    text = str(error)
    if "full" in text:
        return LocalError(
            f"The disk is full (writing the ledger {path}). Nothing was recorded half-way; "
            "free some space and run the command again."
        )
    if "disk I/O error" in text:  # what SQLite says of a full disk in its write-ahead log
        return LocalError(
            f"The ledger {path} could not be written ({text}: is the disk full?). Nothing "
            "was recorded half-way; free some space and run the command again."
        )
    if "readonly" in text or "unable to open" in text:
        return LocalError(
            f"The ledger {path} is not writable ({text}). Make it and its folder writable "
            "(chmod u+w) or choose another work directory with -C."
        )
    return LocalError(f"The ledger {path} could not be changed: {text}. Run the command again.")


def not_a_ledger(path: Path, error: sqlite3.DatabaseError) -> DataError:
    """One line for a ``state.db`` that is not a SQLite database, or a damaged one."""
    return DataError(
        f"{path} is not a numerpilot ledger, or it is damaged ({error}). Move it away (e.g. "
        f"mv {path} {path}.bad): numerpilot then starts a new ledger and reconciles it with "
        "Numerai's list of your submissions."
    )


def _row(row: sqlite3.Row) -> LedgerRow:
    values = dict(row)
    values["late"] = bool(values["late"])
    return LedgerRow(**values)
