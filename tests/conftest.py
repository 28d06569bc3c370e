"""Shared fixtures: synthetic data in Numerai's layout, the sandbox, and a network fence.

Every test runs inside :func:`loopback_only`: a connection to anything but 127.0.0.1/::1
fails the test, and numerapi's built-in URL points at a dead loopback port.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.network import loopback_only

from numerpilot.api.client import NumeraiClient
from numerpilot.credentials import Credentials
from numerpilot.data.synthetic_io import write_synthetic
from numerpilot.sandbox import DEMO_PUBLIC_ID, DEMO_SECRET_KEY, SandboxServer
from numerpilot.sandbox.presets import OPEN_TUESDAY, SMALL_SPEC

__all__ = ["SMALL_SPEC"]


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
