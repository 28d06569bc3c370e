"""Reading a ledger without writing anything beside it: ``status`` in a work folder it
cannot write (a read-only mount, another user's), where SQLite cannot make the -shm file a
write-ahead ledger needs, and rows a daemon wrote last may still sit in its -wal."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

from numerpilot.errors import LocalError

#: What a read-only connection's first read meets where no -shm can be made beside the
#: ledger (a -wal there, or none): the primary result codes.
_NO_SHM = (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY)
#: What SQLite says of a file that is no database, or a damaged one.
_DAMAGED = (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT)
#: Bytes of a file's start compared before and after a copy: the ledger's header, and a
#: -wal's (its salts change each time SQLite starts the -wal over, which may keep its size).
_HEADER = 100


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """``path`` opened read-only. A write-ahead ledger with no -shm beside it, in a folder
    where none can be made (no process has it open), is opened as immutable when its -wal is
    missing or empty; when the -wal holds rows (a daemon that stopped before folding them
    in), a private copy of both is read instead (immutable would skip those rows)."""
    uri = path.absolute().as_uri()
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=30)
    try:
        conn.execute("SELECT 1 FROM sqlite_master").fetchone()
    except sqlite3.OperationalError as error:
        conn.close()
        if error.sqlite_errorcode & 0xFF not in _NO_SHM:  # locked, I/O: not about the -shm
            raise
        if _wal_size(path) > 0:
            with _private_copy(path) as copy, contextlib.closing(sqlite3.connect(copy)) as conn:
                conn.row_factory = sqlite3.Row
                try:
                    yield conn
                except sqlite3.DatabaseError as error:
                    if error.sqlite_errorcode not in _DAMAGED:
                        raise
                    raise _torn(path) from error
            return
        conn = sqlite3.connect(f"{uri}?immutable=1", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        yield conn
    finally:
        conn.close()


def _wal_size(path: Path) -> int:
    """The size of the ledger's -wal (0: none)."""
    try:
        return Path(f"{path}-wal").stat().st_size
    except FileNotFoundError:
        return 0


def _stamp(path: Path) -> tuple[int, int, bytes] | None:
    """What changes when a file is written: its size, time and header (None: no such
    file); the time alone may not move within a filesystem's clock tick."""
    try:
        stat = path.stat()
        with path.open("rb") as file:
            header = file.read(_HEADER)
    except FileNotFoundError:
        return None
    except PermissionError:  # the copy fails next, and says so
        return stat.st_size, stat.st_mtime_ns, b""
    return stat.st_size, stat.st_mtime_ns, header


def _torn(path: Path) -> LocalError:
    """A private copy that reads as damaged: the ledger most likely changed as it was copied
    (a write that left its size, time and header as they were)."""
    return LocalError(
        f"The ledger {path} read as damaged from the copy status made of it: a daemon was "
        "most likely writing it meanwhile. Nothing was changed; run status again (if it "
        f"says this again, run it where {path.parent} is writable, which reads it in place)."
    )


@contextlib.contextmanager
def _private_copy(path: Path, tries: int = 3) -> Iterator[Path]:
    """A copy of the ledger and its -wal in a temporary folder (removed after), taken while
    neither changed (a daemon that opens the ledger meanwhile folds the -wal in)."""
    wal = Path(f"{path}-wal")
    with tempfile.TemporaryDirectory(prefix="numerpilot-ledger-") as folder:
        copy = Path(folder) / path.name
        for _ in range(tries):
            before = (_stamp(path), _stamp(wal))
            try:
                shutil.copyfile(path, copy)
                shutil.copyfile(wal, f"{copy}-wal")
            except FileNotFoundError:  # folded in and removed meanwhile: read again
                Path(f"{copy}-wal").unlink(missing_ok=True)
            except OSError as error:
                raise LocalError(
                    f"The ledger {path} could not be read: its latest rows are still in {wal}, "
                    f"which can be read in place only with write access to {path.parent}, and "
                    f"copying it failed ({error}). Nothing was changed; run status as the user "
                    f"who owns {path.parent}."
                ) from error
            if (_stamp(path), _stamp(wal)) == before:
                yield copy
                return
        raise LocalError(
            f"The ledger {path} changed each of the {tries} times it was read (a daemon is "
            "writing it). Nothing was changed; run status again."
        )


def check_current_format(path: Path, conn: sqlite3.Connection) -> None:
    """Refuse a ledger of the format before states: reading it needs its one-time upgrade,
    which writes to it."""
    old = conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name='submissions'"
    ).fetchone()
    if old:
        raise LocalError(
            f"The ledger {path} is in an older format that needs a one-time upgrade, which "
            f"writes to it, and {path.parent} is not writable. Nothing was changed; run "
            f"numerpilot status once where the folder is writable (as its owner), then here."
        )


def read_error(path: Path, error: sqlite3.OperationalError) -> LocalError:
    """One line for a ledger that could not be read (by ``status``, which changes nothing)."""
    text = str(error)
    if "unable to open" in text:
        return LocalError(
            f"The ledger {path} could not be read ({text}): numerpilot needs permission to "
            f"read it and its folder. Nothing was changed; run status as the user who owns "
            f"{path.parent}, or ask them to make the ledger readable (chmod a+r {path})."
        )
    return LocalError(
        f"The ledger {path} could not be read ({text}). Nothing was changed; run status again."
    )
