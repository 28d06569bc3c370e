"""A loopback-only network fence for tests: no test can reach the internet."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Any

from numerapi import base_api

#: Where numerapi's module constant points during tests: a closed loopback port.
DEAD_URL = "http://127.0.0.1:9/"

_LOOPBACK = ("127.", "::1", "localhost")


class InternetAccessError(RuntimeError):
    """A test tried to reach a host other than the loopback interface."""


def _check(address: Any) -> None:
    if isinstance(address, tuple) and address and isinstance(address[0], str):
        host = address[0]
        if not host.startswith(_LOOPBACK):
            raise InternetAccessError(f"tests must not reach the internet (tried {host})")


@contextlib.contextmanager
def loopback_only() -> Iterator[None]:
    """Refuse every socket connection except to 127.0.0.1/::1, and point numerapi's
    default URL at a dead loopback port so a forgotten base URL fails fast."""
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex
    original_url = base_api.API_TOURNAMENT_URL

    def connect(self: socket.socket, address: Any) -> None:
        _check(address)
        original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        _check(address)
        return original_connect_ex(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    base_api.API_TOURNAMENT_URL = DEAD_URL
    try:
        yield
    finally:
        socket.socket.connect = original_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = original_connect_ex  # type: ignore[method-assign]
        base_api.API_TOURNAMENT_URL = original_url
