"""``status`` reads the ledger of a work folder it cannot write (another user's, where the
daemon runs): every row, the daemon's last ones too, and one line when it cannot.

Each read runs in a child process that really cannot write the folder: as user ``nobody``
when the tests run as root (whom modes do not stop), else with the folder made read-only.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.fs import snapshot

from numerpilot.submission.ledger import Ledger

READ = """
import sys
from pathlib import Path
from numerpilot.errors import NumerpilotError
from numerpilot.submission.ledger import Ledger
try:
    print([row.round for row in Ledger(Path(sys.argv[1]), read_only=True).history()])
except NumerpilotError as error:
    print(f"{type(error).__name__}: {error}")
"""
STRANGER = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[Path]:
    """A folder others may read, not write (as root: under /tmp, which nobody can reach)."""
    root = os.geteuid() == 0
    folder = Path(tempfile.mkdtemp(prefix="ledger-ro-", dir="/tmp" if root else tmp_path))
    folder.chmod(0o755)
    yield folder
    folder.chmod(0o755)
    shutil.rmtree(folder)


#: The copy status makes of the ledger comes out torn, as when a daemon wrote it meanwhile
#: without moving its size, time or header: the copy's header is not SQLite's.
TORN = """
import shutil
copy = shutil.copyfile
def torn(source, target):
    copy(source, target)
    if str(target).endswith("state.db"):
        with open(target, "r+b") as file:
            file.write(b"not SQLite at all")
    return target
shutil.copyfile = torn
"""


def _read_as_a_stranger(folder: Path, before: str = "") -> str:
    """What ``Ledger(read_only=True).history()`` gives a process that cannot write
    ``folder`` (after running ``before``): the rounds of its rows, or its one-line error."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("reading as another user needs setpriv (util-linux)")
        prefix = STRANGER
    else:
        folder.chmod(0o555)
    try:
        done = subprocess.run(
            [*prefix, sys.executable, "-c", before + READ, str(folder / "state.db")],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    finally:
        folder.chmod(0o755)
    assert done.returncode == 0 and not done.stderr, done.stderr
    return done.stdout.strip()


def _daemon_stopped_with_rows_in_its_wal(folder: Path, scratch: Path) -> None:
    """``folder/state.db`` as a daemon leaves it when it stops before folding its -wal in:
    round 900 in the database, round 901 only in ``state.db-wal``, no -shm."""
    ledger = Ledger(scratch / "state.db")
    ledger.mark("classic", "m", "mid", 900, "submitted", submission_id="s900")
    with sqlite3.connect(scratch / "state.db") as other:  # open: the -wal is not folded in
        other.execute("SELECT count(*) FROM rounds").fetchone()
        ledger.mark("classic", "m", "mid", 901, "submitted", submission_id="s901")
        for name in ("state.db", "state.db-wal"):
            shutil.copyfile(scratch / name, folder / name)
    other.close()
    assert (folder / "state.db-wal").stat().st_size > 0
    assert not (folder / "state.db-shm").exists()


def test_rows_still_in_the_wal_are_read(shared: Path, tmp_path: Path) -> None:
    """Round 901 sits in the -wal; SQLite cannot make a -shm in the folder, and opened as
    immutable it skipped the -wal: status showed round 900 only."""
    _daemon_stopped_with_rows_in_its_wal(shared, tmp_path)
    before = snapshot(shared)
    assert _read_as_a_stranger(shared) == "[901, 900]"
    assert snapshot(shared) == before  # nothing written, not even a -shm


def test_a_copy_torn_by_a_write_says_run_again_not_damaged(shared: Path, tmp_path: Path) -> None:
    """A copy torn by a daemon's write read as damaged: status said the ledger was 'not a
    numerpilot ledger, or damaged' and advised moving it away, the record of every upload."""
    _daemon_stopped_with_rows_in_its_wal(shared, tmp_path)
    said = _read_as_a_stranger(shared, before=TORN)
    assert said.startswith("LocalError: The ledger") and "run status again" in said, said
    assert "mv " not in said and "not a numerpilot ledger" not in said


def test_a_ledger_without_a_wal_is_read(shared: Path) -> None:
    Ledger(shared / "state.db").mark("classic", "m", "mid", 900, "submitted")
    assert sorted(p.name for p in shared.iterdir()) == ["state.db"]
    assert _read_as_a_stranger(shared) == "[900]"
    assert sorted(p.name for p in shared.iterdir()) == ["state.db"]


def _unreadable(folder: Path) -> None:
    Ledger(folder / "state.db").mark("classic", "m", "mid", 900, "submitted")
    (folder / "state.db").chmod(0o600)
    if os.geteuid() != 0:
        pytest.skip("the owner reads its own mode-600 file")


def _damaged(folder: Path) -> None:
    (folder / "state.db").write_bytes(b"not a database, " * 64)


def _old_format(folder: Path) -> None:
    with sqlite3.connect(folder / "state.db") as conn:
        conn.executescript(
            "CREATE TABLE submissions (id INTEGER PRIMARY KEY AUTOINCREMENT, tournament TEXT,"
            " model_name TEXT, model_id TEXT, round INTEGER, submission_id TEXT, sha256 TEXT,"
            " path TEXT, created_at TEXT);"
        )
    conn.close()


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (_unreadable, "LocalError: The ledger {db} could not be read (unable to open database "
                      "file): numerpilot needs permission to read it and its folder. Nothing "
                      "was changed; run status as the user who owns {folder}, or ask them to "
                      "make the ledger readable (chmod a+r {db})."),
        (_damaged, "DataError: {db} is not a numerpilot ledger, or it is damaged (file is not "
                   "a database)."),
        (_old_format, "LocalError: The ledger {db} is in an older format that needs a one-time "
                      "upgrade, which writes to it, and {folder} is not writable. Nothing was "
                      "changed; run numerpilot status once where the folder is writable (as "
                      "its owner), then here."),
    ],
    ids=["not readable", "damaged", "old format"],
)  # fmt: skip
def test_a_ledger_that_cannot_be_read_is_one_line(
    shared: Path, make: object, expected: str
) -> None:
    """These ended status in "failed unexpectedly ... a bug" (or said it could not be
    changed, run again); they say what is wrong with the read and what to do."""
    assert callable(make)
    make(shared)
    before = snapshot(shared)
    message = _read_as_a_stranger(shared)
    assert message.startswith(expected.format(db=shared / "state.db", folder=shared)), message
    assert snapshot(shared) == before


def test_rows_in_a_wal_it_cannot_read_are_one_line(shared: Path, tmp_path: Path) -> None:
    _daemon_stopped_with_rows_in_its_wal(shared, tmp_path)
    (shared / "state.db-wal").chmod(0o600)
    if os.geteuid() != 0:
        pytest.skip("the owner reads its own mode-600 file")
    message = _read_as_a_stranger(shared)
    assert message.startswith(
        f"LocalError: The ledger {shared / 'state.db'} could not be read: its latest rows are "
        f"still in {shared / 'state.db-wal'}, which can be read in place only with write "
        f"access to {shared}, and copying it failed ("
    ), message
    assert message.endswith(f"run status as the user who owns {shared}.")
