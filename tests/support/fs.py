"""Deterministic file-system failures: a full disk, a folder that is not writable.

Python-level ``open``/``os.open``/``os.mkdir`` are wrapped for paths under one folder, so
every writer numerpilot uses (its atomic writes, pandas, LightGBM's model text, JSON) meets
the failure exactly where a real one would happen, and the test process itself does not.
"""

from __future__ import annotations

import builtins
import errno
import hashlib
import io
import os
from pathlib import Path
from typing import Any

import pytest

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT
_READ_ONLY: list[Path] = []


def restore_modes() -> None:
    """Make the folders :func:`read_only` touched writable again (pytest removes them)."""
    while _READ_ONLY:
        folder = _READ_ONLY.pop()
        if folder.exists():
            folder.chmod(0o755)


def _inside(path: Any, folder: Path) -> bool:
    try:
        candidate = Path(os.fsdecode(path)).absolute()
    except TypeError:  # a file descriptor
        return False
    return candidate == folder or folder in candidate.parents


class _FullDisk:
    """A file object whose writes fail with ENOSPC, as on a full disk."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def write(self, data: Any) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __enter__(self) -> _FullDisk:
        return self

    def __exit__(self, *exc: object) -> None:
        self._inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def disk_full(monkeypatch: pytest.MonkeyPatch, folder: Path, *, after: int = 0) -> None:
    """Files opened for writing under ``folder`` fail to write, after ``after`` of them
    were written normally (so a bundle can fail at its second model file)."""
    folder = folder.absolute()
    real_open = builtins.open
    opened = [0]

    def fake_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_open(file, mode, *args, **kwargs)
        if any(m in mode for m in "wax+") and _inside(file, folder):
            opened[0] += 1
            if opened[0] > after:
                return _FullDisk(handle)
        return handle

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(io, "open", fake_open)


def read_only(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Make ``folder`` (created if missing) not writable: by its mode (put back by the
    ``writable_again`` fixture), and for root, whom modes do not stop, by refusing Python's
    writes under it with EACCES."""
    folder = folder.absolute()
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o555)
    _READ_ONLY.append(folder)
    if os.geteuid() != 0:
        return
    denied = OSError(errno.EACCES, os.strerror(errno.EACCES))
    real_open, real_os_open, real_mkdir = builtins.open, os.open, os.mkdir

    def fake_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if any(m in mode for m in "wax+") and _inside(file, folder):
            raise PermissionError(denied.errno, denied.strerror, os.fsdecode(file))
        return real_open(file, mode, *args, **kwargs)

    def fake_os_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & _WRITE_FLAGS and _inside(path, folder):
            raise PermissionError(denied.errno, denied.strerror, os.fsdecode(path))
        return real_os_open(path, flags, *args, **kwargs)

    def fake_mkdir(path: Any, *args: Any, **kwargs: Any) -> None:
        if _inside(path, folder) and Path(os.fsdecode(path)).absolute() != folder:
            raise PermissionError(denied.errno, denied.strerror, os.fsdecode(path))
        real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(io, "open", fake_open)
    monkeypatch.setattr(os, "open", fake_os_open)
    monkeypatch.setattr(os, "mkdir", fake_mkdir)


def snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` (relative path -> SHA-256): compare before and after."""
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def leftovers(root: Path) -> list[str]:
    """Temporary files a failed write must not leave behind (``.name.xxxx.tmp``)."""
    return [str(p) for p in root.rglob("*.tmp")] if root.exists() else []
