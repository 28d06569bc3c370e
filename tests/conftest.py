"""Shared fixtures: synthetic data in Numerai's layout, the sandbox, and a network fence.

Every test runs inside :func:`loopback_only`: a connection to anything but 127.0.0.1/::1
fails the test, and numerapi's built-in URL points at a dead loopback port.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.support.catalogue import (  # noqa: F401  (hooks and a fixture, found by name)
    Outcome,
    pytest_configure,
    pytest_itemcollected,
    pytest_sessionfinish,
    refused,
)
from tests.support.fs import restore_modes
from tests.support.network import DEAD_URL, loopback_only

from numerpilot.api.client import NumeraiClient
from numerpilot.credentials import Credentials
from numerpilot.data.synthetic_io import write_synthetic
from numerpilot.sandbox import DEMO_PUBLIC_ID, DEMO_SECRET_KEY, SandboxServer
from numerpilot.sandbox.presets import OPEN_TUESDAY, SMALL_SPEC

__all__ = ["SMALL_SPEC"]

Numerpilot = Callable[..., Outcome]


def pytest_sessionstart(session: pytest.Session) -> None:
    """Ctrl-C as from a terminal: tests press it (a real SIGINT, to themselves or to the
    commands they start), and a parent that ignored SIGINT (a background job of a shell
    without job control, some CI runners) made Python, and so every child, ignore it."""
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("NUMERPILOT_API_URL", raising=False)
    with loopback_only():
        yield


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only-by-convention synthetic dataset shared by the whole test session."""
    out = tmp_path_factory.mktemp("synthetic")
    write_synthetic(SMALL_SPEC, out)
    return out


@pytest.fixture(scope="session")
def sandbox_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sandbox")


@pytest.fixture
def sandbox(sandbox_data: Path) -> Iterator[SandboxServer]:
    """The local Numerai API on a free loopback port, inside an open Tuesday round."""
    with SandboxServer(sandbox_data, spec=SMALL_SPEC, start=OPEN_TUESDAY) as server:
        yield server


@pytest.fixture
def creds() -> Credentials:
    return Credentials(DEMO_PUBLIC_ID, DEMO_SECRET_KEY)


@pytest.fixture
def client(sandbox: SandboxServer, creds: Credentials) -> NumeraiClient:
    return NumeraiClient(creds, sandbox.url, timeout=2.0, retries=3, backoff=0.01)


@pytest.fixture(autouse=True)
def _writable_again() -> Iterator[None]:
    yield
    restore_modes()


@pytest.fixture
def numerpilot(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Numerpilot:
    """Run ``numerpilot ARGS`` in-process through its real entry point (piped output)."""
    from numerpilot.cli import main

    def run(*args: str) -> Outcome:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["numerpilot", *args])
        monkeypatch.delenv("COLUMNS", raising=False)
        code = 0
        with _command_log(verbose="-v" in args or "--verbose" in args):
            try:
                main()
            except SystemExit as done:
                code = int(done.code or 0)
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return run


@contextlib.contextmanager
def _command_log(*, verbose: bool) -> Iterator[None]:
    """The command's log on its stderr, as in a process of its own: pytest's handlers on the
    root logger make the CLI's ``logging.basicConfig`` a no-op, and its warnings would be
    missing from the stderr the tests read."""
    from numerpilot.cli.app import _CommandLog

    handler = logging.StreamHandler(sys.stderr)  # capsys's stream, as the command's is
    handler.setFormatter(_CommandLog())
    handler.setLevel(logging.INFO if verbose else logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a numerpilot subprocess: no keys, no real API, no wrapping."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMERAI_", "COLUMNS"))}
    env["NUMERPILOT_API_URL"] = DEAD_URL
    env.update(extra)
    return env


def numerpilot_process(*args: str, cwd: Path | None = None, **env: str) -> Outcome:
    """Run ``python -m numerpilot ARGS`` as a user would, in a process of its own."""
    done = subprocess.run(
        [sys.executable, "-m", "numerpilot", *args],
        cwd=cwd, env=child_env(**env), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    return Outcome(done.returncode, done.stdout, done.stderr)
