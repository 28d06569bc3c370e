"""A cached virtual environment with exactly a runtime image's pinned packages.

Created once per image under ``$NUMERPILOT_CACHE/runtime/<image>`` (default
``~/.cache/numerpilot``), without numerpilot, by ``python -m venv`` plus ``pip install`` of
the exact pins (binary wheels, no dependency resolution: the pins are the whole set). It is
built in a temporary folder and renamed into place only when pip succeeded, so a half-built
environment is never used; a marker file records the pins it holds. One process builds at a
time (a ``flock`` on the runtime folder, released even when its holder is killed), and the
temporary folder of a build that was killed goes at the next one; pip dies with numerpilot.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from numerpilot.errors import LocalError, NumerpilotError, RemoteError
from numerpilot.lock import folder_held
from numerpilot.model_upload.images import RuntimeImage, python_minor

log = logging.getLogger(__name__)

ENV_CACHE = "NUMERPILOT_CACHE"
MARKER = "numerpilot-replica.json"
_PIP_TIMEOUT_S = 900


def cache_root() -> Path:
    """``$NUMERPILOT_CACHE``, else ``$XDG_CACHE_HOME/numerpilot``, else ``~/.cache/numerpilot``."""
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "numerpilot"


def replica_dir(image: RuntimeImage) -> Path:
    return cache_root() / "runtime" / image.key


def _python_of(venv: Path) -> Path:
    return venv / "bin" / "python"


def _is_ready(venv: Path, image: RuntimeImage) -> bool:
    marker = venv / MARKER
    if not (marker.exists() and _python_of(venv).exists()):
        return False
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8")).get("requirements")
    except (OSError, json.JSONDecodeError):
        return False
    return bool(recorded == image.requirements())


def is_ready(image: RuntimeImage) -> bool:
    """Whether the image's replica is built (then :func:`ensure_replica` takes no time)."""
    return _is_ready(replica_dir(image), image)


def base_interpreter(image: RuntimeImage) -> str:
    """An interpreter of the image's Python minor: this one, or ``python3.X`` on PATH."""
    if python_minor() == image.python:
        return sys.executable
    found = shutil.which(f"python{image.python}")
    if found:
        return found
    raise NumerpilotError(
        f"the {image.key} runtime replica needs a Python {image.python} interpreter and none "
        f"was found (this is Python {python_minor()}). Install python{image.python}, or build "
        f"and check the pickle with Python {python_minor()} for the py{python_minor()} image."
    )


def _run(cmd: list[str], what: str) -> str:
    """Run ``cmd``; its output when it failed (stderr, else stdout), else ""."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=_PIP_TIMEOUT_S,
                              env=env, check=False, preexec_fn=die_with_parent)  # fmt: skip
    except subprocess.TimeoutExpired:
        raise RemoteError(f"{what} took longer than {_PIP_TIMEOUT_S} s; check the network "
                          "connection to PyPI and try again.") from None  # fmt: skip
    if proc.returncode == 0:
        return ""
    return (proc.stderr or proc.stdout).strip() or "(no output)"


#: What pip's retry warnings say when it cannot reach a package index at all.
_UNREACHABLE = re.compile(r"(Failed to establish a new connection: \[Errno -?\d+\] [^'\")]+|"
                          r"Temporary failure in name resolution|Name or service not known|"
                          r"ConnectTimeoutError|ProxyError|SSLError|Read timed out)")  # fmt: skip
#: pip's refusal of a pin that no index it reached offers.
_NOT_OFFERED = re.compile(r"requirement (\S+==\S+) \(from versions: ([^)]*)\)")
#: pip's error when the disk (or the user's quota) is full.
_DISK_FULL = re.compile(r"\[Errno (28|122)\]|No space left on device|Disk quota exceeded")


Cause = Literal["unreachable", "no version", "not offered", "disk full", "other"]


@dataclass(frozen=True)
class PipFailure:
    """Why pip failed, and ``said``: pip's ``ERROR:`` lines, led by the cause where they
    would mislead."""

    cause: Cause
    said: str


def _errors(output: str) -> str:
    """pip's last ``ERROR:`` lines (not its retry warnings), else its last lines."""
    lines = output.splitlines()
    errors = [line for line in lines if line.startswith("ERROR:")]
    return "\n".join(errors[-3:] or lines[-6:]) or "(no output)"


def _failure(output: str) -> PipFailure:
    """Judge pip's failure by its ``ERROR:`` lines. "Could not find a version that satisfies
    ..." misleads: with versions listed, an index was reached (a mirror) that lacks the
    exact pin; with none, no index was reached if pip warned of connections, else the one
    it reached has none (or, pip retrying never, none was reached). A retry warning beside
    any other error is not the cause: pip's error is."""
    said = _errors(output)
    missing = _NOT_OFFERED.search(said)
    if missing and missing.group(2) != "none":
        return PipFailure("not offered", (
            f"the package index pip uses offers no wheel of {missing.group(1)} for this "
            f"Python and machine (only {missing.group(2)}): a mirror or pip.conf index "
            f"without the image's exact pins? pip said:\n{said}"))  # fmt: skip
    unreachable = _UNREACHABLE.search(output)
    if missing and unreachable:
        return PipFailure("unreachable", (
            f"pip could not reach the package index ({unreachable.group(1).strip()}); "
            f"pip said:\n{said}"))  # fmt: skip
    if missing:
        return PipFailure("no version", (
            f"pip found no version of {missing.group(1).split('==')[0]} at all: no package "
            f"index was reached (no network? pip warns of it only when it retries), or the "
            f"one it uses has none; pip said:\n{said}"))  # fmt: skip
    return PipFailure("disk full" if _DISK_FULL.search(said) else "other", said)


def _make_venv(interpreter: str, image: RuntimeImage, dest: Path) -> None:
    """A virtual environment of ``interpreter`` at ``dest``: a local matter, no network."""
    failed = _run([interpreter, "-m", "venv", str(dest)], "creating a venv")
    if failed:
        raise LocalError(
            f"{interpreter} (Python {image.python}) could not create the {image.key} runtime "
            f"replica's virtual environment:\n{_errors(failed)}\nrepair that Python "
            f"{image.python} (e.g. install its venv module), or check the pickle for the "
            f"py{python_minor()} image with this Python (--image {python_minor()})."
        )


#: What to do, by the cause of pip's failure.
_ADVICE: dict[Cause, str] = {
    "unreachable": "check-upload needs PyPI (or a mirror with the exact pins: PIP_INDEX_URL) "
    "once per runtime image to build its replica; check the network and try again.",
    "no version": "check the network, and that pip uses PyPI or a mirror with the image's "
    "exact pins (PIP_INDEX_URL, pip.conf), and try again.",
    "not offered": "point pip at PyPI, or at a mirror with the image's exact pins "
    "(PIP_INDEX_URL, pip.conf), and try again.",
    "disk full": "the disk is full: free some space (the replica takes a few hundred MB "
    "under {cache}; NUMERPILOT_CACHE moves it) and try again.",
    "other": "fix what pip's error names and try again (check-upload needs PyPI, or a "
    "mirror with the exact pins: PIP_INDEX_URL, once per runtime image).",
}


def install_error(image: RuntimeImage, output: str) -> NumerpilotError:
    """The refusal for pip's failed install of ``image``'s pins, worded by its cause: a
    full disk is this machine's (LocalError), the rest the index's or network's."""
    failure = _failure(output)
    advice = _ADVICE[failure.cause].format(cache=cache_root() / "runtime")
    message = f"installing the {image.key} pins failed: {failure.said}\n{advice}"
    return LocalError(message) if failure.cause == "disk full" else RemoteError(message)


def _install(python: Path, image: RuntimeImage) -> None:
    """The image's pins from PyPI into the replica (wheels only, no dependencies)."""
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check",
           "--no-input", "--quiet", "--no-deps", "--only-binary=:all:"]  # fmt: skip
    failed = _run(pip + image.requirements(), f"installing the {image.key} pins")
    if failed:
        raise install_error(image, failed)


def die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to SIGKILL this (child) process when its parent dies, even by SIGKILL: a
    killed check-upload leaves no pip or runtime run going on; elsewhere nothing."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


_PR_SET_PDEATHSIG = 1


def _remove_killed_builds(folder: Path, image: RuntimeImage) -> None:
    """Remove the temporary folders of builds that were killed (``.py3.11.<random>``), of
    hundreds of MB each."""
    for path in folder.glob(f".{image.key}.*"):
        if path.is_dir() and not path.is_symlink():
            log.info("removing %s, left by a replica build that was killed", path)
            shutil.rmtree(path, ignore_errors=True)


def ensure_replica(image: RuntimeImage) -> Path:
    """The replica's Python executable, creating the environment on first use."""
    dest = replica_dir(image)
    if _is_ready(dest, image):
        return _python_of(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    wait = _PIP_TIMEOUT_S + 60  # another build's
    with folder_held(dest.parent, wait=wait, busy="building a runtime replica") as held:
        if _is_ready(dest, image):  # built by the process this one waited for
            return _python_of(dest)
        if held:  # no other build runs: the temporary folders here are killed ones'
            _remove_killed_builds(dest.parent, image)
        return _build(image, dest)


def _build(image: RuntimeImage, dest: Path) -> Path:
    """Build the replica in a temporary folder beside ``dest``, then rename it into place."""
    interpreter = base_interpreter(image)
    tmp = Path(tempfile.mkdtemp(prefix=f".{image.key}.", dir=dest.parent))
    log.info("creating the %s runtime replica in %s", image.key, dest)
    try:
        _make_venv(interpreter, image, tmp)
        _install(_python_of(tmp), image)
        marker = {"image": image.key, "requirements": image.requirements()}
        (tmp / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        if dest.exists() and not _is_ready(dest, image):
            shutil.rmtree(dest, ignore_errors=True)
        try:
            os.rename(tmp, dest)
        except OSError:
            if not _is_ready(dest, image):  # somebody else won the race with a good one?
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return _python_of(dest)
