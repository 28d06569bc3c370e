"""Per-work-directory locks, held while a process submits, runs the daemon or changes the
models (``flock``: released by the operating system when its holder dies, even by
SIGKILL, so a lock can never go stale)."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from numerpilot.errors import NumerpilotError

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
        deadline, said = time.monotonic() + wait, False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                pid = os.pread(fd, 32, 0).decode(errors="replace").strip()
                holder = f" (pid {pid})" if pid else ""  # "" in the instant before it wrote
                if time.monotonic() >= deadline:
                    raise LockedError(
                        f"another numerpilot process{holder} is {what} in "
                        f"{path.parent}; wait for it to finish, or stop it first."
                    ) from None
                if wait >= 10 and not said:  # a wait a person would notice
                    log.warning("waiting for another numerpilot process%s, which is %s in "
                                "%s (at most %.0f s)", holder, what, path.parent, wait)  # fmt: skip
                    said = True
                time.sleep(0.05)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
        except OSError as error:  # a full disk: name the file
            raise OSError(error.errno, error.strerror, str(path)) from error
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
