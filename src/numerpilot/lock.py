"""Per-work-directory locks, held while a process submits, runs the daemon or changes the
models (``flock``: released by the operating system when its holder dies, even by
SIGKILL, so a lock can never go stale)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from numerpilot.errors import NumerpilotError


class LockedError(NumerpilotError):
    """Another numerpilot process holds the lock."""


@contextlib.contextmanager
def hold(path: Path, *, wait: float, what: str) -> Iterator[None]:
    """Hold the lock file ``path`` (waiting up to ``wait`` seconds for another holder);
    raise :class:`LockedError` naming the holder's pid when it stays held."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    pid = os.pread(fd, 32, 0).decode(errors="replace").strip()
                    holder = f" (pid {pid})" if pid else ""  # "" in the instant before it wrote
                    raise LockedError(
                        f"another numerpilot process{holder} is {what} in "
                        f"{path.parent}; wait for it to finish, or stop it first."
                    ) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
