"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def atomic_path(dest: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; move it onto ``dest`` only on success."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(dest: Path, writer: Callable[[IO[bytes]], Any]) -> None:
    """Call ``writer`` with a binary file object and publish the result atomically."""
    with atomic_path(dest) as tmp, tmp.open("wb") as fh:
        writer(fh)
        fh.flush()
        os.fsync(fh.fileno())


def write_bytes_atomic(dest: Path, data: bytes) -> None:
    write_atomic(dest, lambda fh: fh.write(data))


def write_text_atomic(dest: Path, text: str) -> None:
    write_bytes_atomic(dest, text.encode("utf-8"))


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json_atomic(dest: Path, obj: Any) -> None:
    write_text_atomic(dest, json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n")
