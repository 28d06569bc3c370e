"""Per-work-directory locks, held while a process submits, runs the daemon or changes the
models, and locks on a folder itself, held while a model-upload pickle is written or a
runtime replica is built (``flock``: released by the operating system when its holder
dies, even by SIGKILL, so a lock can never go stale)."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from numerpilot.errors import LocalError, NumerpilotError

log = logging.getLogger(__name__)


class LockedError(NumerpilotError):
    """Another numerpilot process holds the lock."""


@contextlib.contextmanager
def hold(path: Path, *, wait: float, what: str) -> Iterator[None]:
    """Hold the lock file ``path`` (waiting up to ``wait`` seconds for another holder);
    raise :class:`LockedError` naming the holder's pid when it stays held."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:

        def holder() -> str:  # "" in the instant before it wrote its pid
            pid = os.pread(fd, 32, 0).decode(errors="replace").strip()
            return f" (pid {pid})" if pid else ""

        take(fd, path.parent, wait=wait, what=what, holder=holder)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
        except OSError as error:  # a full disk: name the file
            raise OSError(error.errno, error.strerror, str(path)) from error
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def take(
    fd: int,
    place: Path,
    *,
    wait: float,
    what: str,
    holder: Callable[[], str] = lambda: "",
    error: type[NumerpilotError] = LockedError,
) -> None:
    """Take the ``flock`` of ``fd`` (a lock file's, or a folder's), waiting up to ``wait``
    seconds while another process, which is doing ``what`` in ``place``, holds it; then
    ``error`` names it (``holder``: its words for that process, e.g. " (pid 42)")."""
    deadline, said = time.monotonic() + wait, False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            who = holder()
            if time.monotonic() >= deadline:
                raise error(
                    f"another numerpilot process{who} is {what} in {place}; wait for it to "
                    "finish, or stop it first."
                ) from None
            if wait >= 10 and not said:  # a wait a person would notice
                log.warning("waiting for another numerpilot process%s, which is %s in %s "
                            "(at most %.0f s)", who, what, place, wait)  # fmt: skip
                said = True
            time.sleep(0.05)


@contextlib.contextmanager
def folder_held(folder: Path, *, wait: float, busy: str) -> Iterator[bool]:
    """Hold ``folder`` itself (no lock file; waiting up to ``wait`` seconds while another
    process holds it, then :class:`LocalError` saying that it is ``busy``), so that the
    temporary files found there meanwhile belong to no one; yields False, holding nothing,
    where the file system has no such locks (some network ones)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        fd = -1
    try:
        yield fd >= 0 and _take_folder(fd, folder, wait, busy)
    finally:
        if fd >= 0:
            os.close(fd)  # closing the descriptor releases the lock


def _take_folder(fd: int, folder: Path, wait: float, busy: str) -> bool:
    """Take the lock of ``folder``'s ``fd``; False where the file system cannot lock it."""
    try:
        take(fd, folder, wait=wait, what=busy, error=LocalError)
    except OSError:  # no locks here: go on without one
        return False
    return True
