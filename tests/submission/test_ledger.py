"""The sqlite ledger: one row per (tournament, model, round), states, migration, lock."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from numerpilot.errors import LocalError
from numerpilot.lock import LockedError, hold
from numerpilot.submission.ledger import Ledger, ledger_error


def test_states_move_forward_one_row_per_round(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "state.db")
    assert ledger.history() == []
    assert not (tmp_path / "state.db").exists()
    assert ledger.get("classic", "mid", 1) is None
    row = ledger.claim("classic", "m", "mid", 1, "ab" * 32, "p.csv")
    assert (row.state, row.attempts, row.submission_id) == ("uploading", 1, None)
    ledger.mark("classic", "m", "mid", 1, "failed", error="HTTP 500")
    again = ledger.claim("classic", "m", "mid", 1, "cd" * 32, "p.csv")
    assert (again.state, again.attempts, again.last_error, again.sha256) == (
        "uploading", 2, None, "cd" * 32,
    )  # fmt: skip
    ledger.mark("classic", "m", "mid", 1, "submitted", submission_id="s1", late=True)
    done = ledger.get("classic", "mid", 1)
    assert done is not None
    assert (done.state, done.submission_id, done.late, done.sha256) == (
        "submitted", "s1", True, "cd" * 32,
    )  # fmt: skip
    ledger.mark("classic", "m", "mid", 2, "skipped", error="runs from a pickle")
    assert [(r.round, r.state) for r in ledger.history()] == [(2, "skipped"), (1, "submitted")]
    assert ledger.get("signals", "mid", 1) is None


def test_old_ledger_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "CREATE TABLE submissions (id INTEGER PRIMARY KEY AUTOINCREMENT, tournament TEXT,"
            " model_name TEXT, model_id TEXT, round INTEGER, submission_id TEXT, sha256 TEXT,"
            " path TEXT, created_at TEXT);"
            "INSERT INTO submissions (tournament, model_name, model_id, round, submission_id,"
            " sha256, path, created_at) VALUES ('classic', 'm', 'mid', 7, 's7', 'ff', 'p', 't');"
        )
    row = Ledger(path).get("classic", "mid", 7)
    assert row is not None
    assert (row.state, row.submission_id, row.attempts) == ("submitted", "s7", 1)


def test_model_uploads_are_remembered(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "state.db")
    assert ledger.model_upload("classic", "mid") is None
    ledger.record_model_upload("classic", "m", "mid", "upload-1")
    assert ledger.model_upload("classic", "mid") == "upload-1"


def _hold_forever(path: str, ready: multiprocessing.synchronize.Event) -> None:
    with hold(Path(path), wait=1, what="submitting"):
        ready.set()
        time.sleep(60)


def test_lock_excludes_others_and_dies_with_its_holder(tmp_path: Path) -> None:
    lock = tmp_path / "state.lock"
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold_forever, args=(str(lock), ready))
    holder.start()
    assert ready.wait(10)
    with (
        pytest.raises(LockedError, match=rf"pid {holder.pid}\) is submitting"),
        hold(lock, wait=0.2, what="submitting"),
    ):
        pass
    os.kill(holder.pid, signal.SIGKILL)  # no clean-up: the OS releases the lock
    holder.join()
    with hold(lock, wait=5, what="submitting"):
        pass


def test_a_ledger_that_cannot_be_opened_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "state.db").mkdir()  # something that is not a database file
    with pytest.raises(LocalError, match=r"ledger .*state.db is not writable .*chmod u\+w"):
        Ledger(tmp_path / "state.db").get("classic", "mid", 1)


def test_a_full_disk_under_the_ledger_is_one_line(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "small.db")
    conn.execute("PRAGMA max_page_count = 2")  # sqlite's own 'disk full'
    conn.execute("CREATE TABLE t (x)")
    rows = [("x" * 4000,)] * 10
    with pytest.raises(sqlite3.OperationalError) as full:
        conn.executemany("INSERT INTO t VALUES (?)", rows)
    message = str(ledger_error(tmp_path / "state.db", full.value))
    assert message.startswith("The disk is full (writing the ledger")
    assert "free some space" in message
    io_error = sqlite3.OperationalError("disk I/O error")  # SQLite's words in WAL mode
    message = str(ledger_error(tmp_path / "state.db", io_error))
    assert "(disk I/O error: is the disk full?)" in message and "free some space" in message
