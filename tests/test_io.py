"""Atomic writes: whole files or none, even when the disk fills up or Ctrl-C arrives."""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import threading
import time
from pathlib import Path

import pytest
from tests.support.fs import disk_full, leftovers

from numerpilot.errors import LocalError, from_os_error
from numerpilot.io import (
    deferred_interrupt,
    write_files_atomic,
    write_json_atomic,
    write_text_atomic,
)


def test_a_pair_is_published_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_files_atomic({tmp_path / "a.html": b"old a", tmp_path / "a.json": b"old b"})
    with pytest.MonkeyPatch.context() as full:
        disk_full(full, tmp_path, after=1)  # the second file of the pair fails
        with pytest.raises(OSError, match="a.json"):
            write_files_atomic({tmp_path / "a.html": b"new a", tmp_path / "a.json": b"new b"})
    assert (tmp_path / "a.html").read_bytes() == b"old a"
    assert (tmp_path / "a.json").read_bytes() == b"old b"
    assert leftovers(tmp_path) == []


def test_ctrl_c_is_deferred_to_the_end_of_the_block() -> None:
    done = []

    def block() -> None:
        with deferred_interrupt():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # work goes on; a signal taken by another thread arrives here
            done.append("finished first")

    # Python's own handler before the block, whatever an earlier test in this process left.
    earlier = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            block()
        assert done == ["finished first"]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, earlier)


def test_a_failed_write_names_the_file_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk_full(monkeypatch, tmp_path)
    with pytest.raises(OSError, match="No space left") as caught:
        write_text_atomic(tmp_path / "x.txt", "text")
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(tmp_path / "x.txt")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            OSError(errno.ENOSPC, "No space left on device", "m.txt"),
            "The disk is full (writing m.txt)",
        ),
        (OSError("[Errno 28] No space left on device"), "The disk is full"),  # pyarrow's form
        (
            OSError(errno.EROFS, "Read-only file system", "r"),
            "Read-only file system: r cannot be written. Mount it writable",
        ),
        (OSError(errno.EACCES, "Permission denied", "r"), "Permission denied: r is not writable"),
        (OSError(errno.ENOSPC, "No space", "d/x.parquet.temp"), "part downloaded so far is kept"),
        (OSError(errno.EIO, "Input/output error", "f"), "Input/output error: f."),
        (OSError(errno.ENAMETOOLONG, "File name too long", "x" * 300), "choose a shorter name"),
    ],
)
def test_os_errors_become_one_line(error: OSError, expected: str) -> None:
    message = str(from_os_error(error))
    assert isinstance(from_os_error(error), LocalError)
    assert expected in message and "\n" not in message


def test_a_stream_is_written_into_not_replaced(tmp_path: Path) -> None:
    """`score --json /dev/null` (as root) put a plain file in the device's place: a rename
    over a device or pipe replaces it. A pipe stands in for the device here."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    write_json_atomic(fifo, {"corr": 0.02})
    reader.join(timeout=10)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert json.loads(got[0]) == {"corr": 0.02}
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]  # no temporary twin left
