"""Atomic file writes: a reader sees the old file or the new one, never half of one.

A destination that is a stream (a character device such as ``/dev/null`` or
``/dev/stdout``, or a pipe) is written into, not replaced: a rename over it would put a
plain file in the device's place (as root), and a stream has no old file to keep whole.
Files get the permissions of any other file the user creates (``0666`` less the umask);
only secrets are written with ``private=True`` (``0600``). An error while writing names
the file being written, not its temporary twin.

A twin (``.name.<random>.tmp``) is locked (``flock``) by its writer while it exists, so a
twin that a killed writer left (SIGKILL, a crash, a power cut) is told from one being
written: each successful write removes the unlocked twins of its file.

A destination that is a link of this user's to a file (``reports/validation.html`` linked
into a web server's folder) is written through: the file it points to is replaced, the
link stays. A link to a folder is refused (a rename would put a file in its place).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from numerpilot.errors import DataError

_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process umask (read by setting it and putting it back)."""
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def file_mode(private: bool = False) -> int:
    """``0600`` for secrets, else what ``open()`` would give a new file under the umask."""
    return 0o600 if private else 0o666 & ~current_umask()


@contextlib.contextmanager
def deferred_interrupt() -> Iterator[None]:
    """Ctrl-C inside the block takes effect when the block is done, not in its middle.

    Only the main thread receives signals; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: caught.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught and callable(previous):
        previous(signal.SIGINT, None)  # Python's default handler raises KeyboardInterrupt


def _named(error: OSError, tmp: Path, dest: Path) -> OSError:
    """``error`` naming ``dest`` (writers name the temporary file, or no file at all)."""
    if error.filename not in (None, str(tmp)):
        return error
    return OSError(error.errno, error.strerror or str(error), str(dest))


@contextlib.contextmanager
def _temp_beside(dest: Path) -> Iterator[Path]:
    """A temporary file beside ``dest``, locked while it exists (see :func:`remove_stale_twins`),
    removed on exit unless it was moved away."""
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _locked_twin(dest)
    except OSError as error:
        raise OSError(error.errno, error.strerror or str(error), str(dest)) from error
    try:
        yield tmp
    except OSError as error:
        raise _named(error, tmp, dest) from error
    finally:
        tmp.unlink(missing_ok=True)
        os.close(fd)  # after the unlink or the rename: the lock covers the twin's whole life


def _locked_twin(dest: Path) -> tuple[int, Path]:
    """Create ``dest``'s twin and take its lock; the descriptor and the twin's path. A twin
    that another process swept away between the two steps is made again."""
    while True:
        fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # waits only while a sweeper looks at it
        except OSError:  # a file system without locks: nothing sweeps there either
            return fd, Path(name)
        try:
            if os.path.samestat(os.fstat(fd), os.lstat(name)):
                return fd, Path(name)
        except FileNotFoundError:
            pass
        os.close(fd)


def _twin_name(name: str) -> re.Pattern[str]:
    """The names :func:`tempfile.mkstemp` gives the twins of a file called ``name``."""
    return re.compile(rf"\.{re.escape(name)}\.[a-z0-9_]{{8}}\.tmp")


def remove_stale_twins(dest: Path) -> None:
    """Remove the temporary twins of ``dest`` that no writer holds any more (left by one
    killed while writing); a twin being written now is locked by its writer and stays."""
    dest = Path(dest)
    twin = _twin_name(dest.name)
    try:
        names = os.listdir(dest.parent)
    except OSError:
        return
    for name in names:
        if twin.fullmatch(name):
            _remove_unheld(dest.parent / name)


def _remove_unheld(path: Path) -> None:
    """Remove the plain file ``path`` if no process holds its lock (else leave it)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:  # gone meanwhile (renamed into place), a link, not readable
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held: its writer is alive
        here = os.lstat(path)
        if stat.S_ISREG(here.st_mode) and os.path.samestat(os.fstat(fd), here):
            path.unlink()  # before the lock is let go: its writer would see it gone
    except OSError:  # held, gone meanwhile, no locks on this file system, not removable
        pass
    finally:
        os.close(fd)


#: Paths that name one of this process's standard streams.
_STANDARD = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}


def own_descriptor(path: Path) -> int | None:
    """The file descriptor of this process that ``path`` names (``/dev/stdout``: 1,
    ``/dev/fd/3`` or ``/proc/self/fd/3``: 3), else None. Whatever the shell put there (a
    file of ``> out.json``, a pipe), it is written into: a rename over ``/dev/stdout``
    would put a plain file in place of the link (as root) or fail (not root)."""
    text = os.path.normpath(os.path.abspath(path))
    if text in _STANDARD:
        return _STANDARD[text]
    folder, _, number = text.rpartition("/")
    if number.isdigit() and folder in ("/dev/fd", "/proc/self/fd", f"/proc/{os.getpid()}/fd"):
        return int(number)
    return None


def writable_descriptor(descriptor: int) -> bool:
    """Whether this process has ``descriptor`` open for writing."""
    try:
        flags = fcntl.fcntl(descriptor, fcntl.F_GETFL)
    except OSError:  # not open
        return False
    return flags & os.O_ACCMODE in (os.O_WRONLY, os.O_RDWR)


def is_stream(path: Path) -> bool:
    """Whether ``path`` is a character device (``/dev/null``, a terminal), a pipe or one of
    this process's descriptors (``/dev/stdout``, whatever it was redirected to)."""
    if own_descriptor(path) is not None:
        return True
    try:
        mode = Path(path).stat().st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def through_link(dest: Path) -> Path:
    """The file to replace for ``dest``: ``dest``, or where a link of this user's to an
    existing file points (the link stays); a link to a folder is refused (``EISDIR``). A
    link to nothing, or another user's link (one planted in a shared folder), is replaced
    itself."""
    dest = Path(dest)
    try:
        here = os.lstat(dest)
    except OSError:  # not there yet (or not reachable: the write says why)
        return dest
    if not stat.S_ISLNK(here.st_mode):
        return dest
    if dest.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a link to a folder", str(dest))
    if here.st_uid != os.geteuid() or not dest.is_file():
        return dest
    return Path(os.path.realpath(dest))


@contextlib.contextmanager
def atomic_path(dest: Path, *, private: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``dest`` (beside the file it links to: see
    :func:`through_link`); move it onto that file only on success (a stream: ``dest``
    itself, written into; one of this process's descriptors, such as ``/dev/stdout``: the
    finished file copied into it, never reopened, which would truncate a redirected file)."""
    dest = Path(dest)
    descriptor = own_descriptor(dest)
    if descriptor is not None:
        with tempfile.TemporaryDirectory() as folder:
            tmp = Path(folder) / dest.name
            yield tmp
            _write_to_descriptor(descriptor, lambda fh: fh.write(tmp.read_bytes()))
        return
    if is_stream(dest):
        yield dest
        return
    dest = through_link(dest)
    with _temp_beside(dest) as tmp:
        yield tmp
        os.chmod(tmp, file_mode(private))
        os.replace(tmp, dest)
    remove_stale_twins(dest)


def write_atomic(dest: Path, writer: Callable[[IO[bytes]], Any], *, private: bool = False) -> None:
    """Call ``writer`` with a binary file object and publish the result atomically."""
    descriptor = own_descriptor(dest)
    if descriptor is not None:  # after what was printed there, as the shell redirected it
        _write_to_descriptor(descriptor, writer)
        return
    if is_stream(dest):  # no fsync: a device or pipe may not have one
        with Path(dest).open("wb") as fh:
            writer(fh)
        return
    with atomic_path(dest, private=private) as tmp, tmp.open("wb") as fh:
        writer(fh)
        fh.flush()
        os.fsync(fh.fileno())


def _write_to_descriptor(descriptor: int, writer: Callable[[IO[bytes]], Any]) -> None:
    """Call ``writer`` with a file object on a copy of this process's ``descriptor``,
    after what Python printed there so far (not reopened: ``>> log`` stays appended to)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError, OSError):  # closed, replaced
            stream.flush()
    with os.fdopen(os.dup(descriptor), "wb") as fh:
        writer(fh)


def write_bytes_atomic(dest: Path, data: bytes, *, private: bool = False) -> None:
    write_atomic(dest, lambda fh: fh.write(data), private=private)


def write_text_atomic(dest: Path, text: str, *, private: bool = False) -> None:
    write_bytes_atomic(dest, text.encode("utf-8"), private=private)


def write_files_atomic(files: Mapping[Path, bytes]) -> None:
    """Publish several files as one: all of them, or (failing or interrupted) none.

    Every file is written to a temporary twin first; the twins then replace their files
    in the given order with Ctrl-C deferred, so put the file that marks completion last.
    """
    files = {through_link(Path(dest)): data for dest, data in files.items()}
    with contextlib.ExitStack() as stack:
        temps = []
        for dest, data in files.items():
            tmp = stack.enter_context(_temp_beside(dest))
            with tmp.open("wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, file_mode())
            temps.append((tmp, Path(dest)))
        with deferred_interrupt():
            for tmp, dest in temps:
                os.replace(tmp, dest)
    for dest in files:
        remove_stale_twins(dest)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def json_text(obj: Any) -> str:
    """``obj`` as the indented JSON numerpilot writes (no NaN)."""
    return json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n"


def write_json_atomic(dest: Path, obj: Any) -> None:
    write_text_atomic(dest, json_text(obj))


#: Endings of compressed files, and the first bytes of compressed files whatever their name.
COMPRESSED_ENDINGS = (".gz", ".bz2", ".zip", ".xz", ".zst", ".tar")
_MAGIC = {b"\x1f\x8b": "gzip", b"PK\x03\x04": "zip", b"\xfd7zXZ\x00": "xz",
          b"\x28\xb5\x2f\xfd": "zstd"}  # fmt: skip


def compression(path: Path) -> str | None:
    """How the file ``path`` is compressed: its ending (``.gz``), or ``gzip``, ``zip``, ...
    by its first bytes (a gzip file named ``.csv``); None for a plain file (pandas would
    guess and read it, pyarrow and Numerai would not)."""
    if path.suffix.lower() in COMPRESSED_ENDINGS:
        return path.suffix.lower()
    try:
        with path.open("rb") as fh:
            head = fh.read(max(map(len, _MAGIC)))
    except OSError:  # unreadable: the reader says so
        return None
    return next((kind for magic, kind in _MAGIC.items() if head.startswith(magic)), None)


def check_plain(path: Path, reader: str, then: str) -> None:
    """Refuse an empty (0 bytes) or compressed file: ``reader`` takes plain files only;
    ``then``: what to do with the plain file."""
    if path.is_file() and path.stat().st_size == 0:
        raise DataError(f"{path.name} is empty (0 bytes); check that it was written completely.")
    kind = compression(path) if path.is_file() else None
    if kind:
        raise DataError(f"{path.name} is compressed ({kind}); {reader} reads plain .parquet or "
                        f".csv files: decompress it and {then}.")  # fmt: skip
