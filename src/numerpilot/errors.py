"""One exception family whose messages tell the user what to do next.

The CLI maps each class to an exit code: 1 user or data error, 2 usage, 3 remote failure.
Operating-system failures (a full disk, a folder that is not writable) become
:class:`LocalError` through :func:`from_os_error`.
"""

from __future__ import annotations

import errno
import os
import re


class NumerpilotError(Exception):
    """Base class of every expected numerpilot failure (exit code 1)."""

    exit_code = 1


class ConfigError(NumerpilotError):
    """The configuration file is missing, malformed or holds a bad value."""


class DataError(NumerpilotError):
    """Input data is missing, incomplete or inconsistent with the model."""


class CredentialsError(NumerpilotError):
    """API keys are missing or stored unsafely."""


class SubmissionError(NumerpilotError):
    """A submission breaks Numerai's rules or was already made."""


class UsageError(NumerpilotError):
    """A command was called with arguments that cannot work together."""

    exit_code = 2


class RemoteError(NumerpilotError):
    """The Numerai API or the network failed (exit code 3)."""

    exit_code = 3


class LocalError(NumerpilotError):
    """This machine refused: a full disk, a folder that is not writable, a busy port."""


_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_DENIED = {errno.EACCES, errno.EPERM}
_ERRNO_IN_TEXT = re.compile(r"\[Errno (\d+)\]")


def error_number(error: OSError) -> int | None:
    """The errno of ``error``, also when a library only put it in the text (pyarrow)."""
    if error.errno is not None:
        return int(error.errno)
    found = _ERRNO_IN_TEXT.search(str(error))
    if found:
        return int(found.group(1))
    return errno.ENOSPC if "No space left on device" in str(error) else None


OUT_OF_MEMORY = (
    "This machine ran out of memory. Nothing was half-written; free memory, or ask for less "
    "(smaller sizes, [train] memory_gb, or data.era_step to train on every Nth era)."
)


def failure_line(error: Exception) -> str:
    """One line for a failure: numerpilot's own message, or what the system refused."""
    if isinstance(error, MemoryError):
        return OUT_OF_MEMORY
    return str(from_os_error(error) if isinstance(error, OSError) else error)


WORKDIR_ADVICE = "choose another work directory with -C"


def from_os_error(error: OSError, *, instead: str = WORKDIR_ADVICE) -> LocalError:
    """One line that says what the operating system refused and what to do about it
    (``instead``: the other way out of a permission error, after making it writable)."""
    number = error_number(error)
    where = f" {error.filename}" if error.filename else ""
    if number in _FULL and ".temp" in str(error.filename or ""):
        return LocalError(
            f"The disk is full (writing{where}). The part downloaded so far is kept: free "
            "some space and run the command again to resume."
        )
    if number in _FULL:
        return LocalError(
            f"The disk is full (writing{where or ' a file'}). Nothing was half-written; free "
            "some space and run the command again."
        )
    if number == errno.EROFS:  # chmod cannot help
        return LocalError(
            f"Read-only file system:{where or ' a file or folder'} cannot be written. Mount "
            f"it writable or {instead}."
        )
    if number in _DENIED:
        return LocalError(
            f"Permission denied:{where or ' a file or folder'} is not writable. Make it "
            f"writable (chmod u+w) or {instead}."
        )
    if number == errno.ENAMETOOLONG:
        return LocalError(f"File name too long:{where or ' a path'}; choose a shorter name.")
    if number == errno.EISDIR and error.filename and os.path.islink(error.filename):
        where = os.path.realpath(error.filename)
        return LocalError(f"{error.filename} is a link to a folder ({where}), where a file is "
                          "to be written; remove the link, or point it at a file.")  # fmt: skip
    if number == errno.EISDIR and error.filename:
        return LocalError(f"{error.filename} is a folder; give a file path.")
    reason = error.strerror or str(error) or type(error).__name__
    return LocalError(f"{reason}{':' + where if where else ''}.")
