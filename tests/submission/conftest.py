"""Sandbox fixtures; every test here is fenced off from the internet."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from numerpilot.api.client import NumeraiClient
from numerpilot.api.sandbox import DEMO_PUBLIC_ID, DEMO_SECRET_KEY, SandboxServer
from numerpilot.api.sandbox.testing import OPEN_TUESDAY, SMALL_SPEC, loopback_only
from numerpilot.credentials import Credentials


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("NUMERPILOT_API_URL", raising=False)
    with loopback_only():
        yield


@pytest.fixture(scope="session")
def sandbox_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sandbox")


@pytest.fixture
def sandbox(sandbox_data: Path) -> Iterator[SandboxServer]:
    with SandboxServer(sandbox_data, spec=SMALL_SPEC, start=OPEN_TUESDAY) as server:
        yield server


@pytest.fixture
def creds() -> Credentials:
    return Credentials(DEMO_PUBLIC_ID, DEMO_SECRET_KEY)


@pytest.fixture
def client(sandbox: SandboxServer, creds: Credentials) -> NumeraiClient:
    return NumeraiClient(creds, sandbox.url, timeout=2.0, retries=3, backoff=0.01)
