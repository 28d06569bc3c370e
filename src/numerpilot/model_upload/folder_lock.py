"""An exclusive lock on a folder itself (``flock`` of the folder, no lock file): released by
the operating system when its holder dies, even by SIGKILL. Held while a model-upload pickle
is written (``build-upload``) and while a runtime replica is built (``check-upload``), so
that the temporary files found then belong to no one and may go."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from numerpilot.errors import LocalError

log = logging.getLogger(__name__)


@contextlib.contextmanager
def folder_held(folder: Path, *, wait: float, busy: str) -> Iterator[bool]:
    """Hold ``folder`` (waiting up to ``wait`` seconds while another process holds it; then
    :class:`LocalError` saying that it is ``busy``); yields False, holding nothing, where
    the file system has no such locks (some network ones)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        fd = -1
    try:
        yield fd >= 0 and _lock(fd, folder, wait, busy)
    finally:
        if fd >= 0:
            os.close(fd)  # closing the descriptor releases the lock


def _lock(fd: int, folder: Path, wait: float, busy: str) -> bool:
    """Take the lock of ``fd``; False where the file system cannot lock it."""
    deadline, said = time.monotonic() + wait, False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise LocalError(f"another numerpilot process is {busy} in {folder}; wait "
                                 "for it to finish, or stop it first.") from None  # fmt: skip
            if wait >= 10 and not said:  # a wait a person would notice
                log.warning("waiting for another numerpilot process, which is %s in %s",
                            busy, folder)  # fmt: skip
                said = True
            time.sleep(0.05)
        except OSError:  # no locks here: go on without one
            return False
