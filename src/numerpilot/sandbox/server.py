"""The sandbox HTTP server: the app of :mod:`numerpilot.sandbox.routes` served by uvicorn,
in a thread or in the foreground. Every response carries a ``Date`` header from the sandbox
clock, so clients that read the server's time see the simulated schedule.
"""

from __future__ import annotations

import errno
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from numerpilot.config import DemoConfig
from numerpilot.data.synthetic import SyntheticSpec
from numerpilot.errors import LocalError, error_number
from numerpilot.sandbox.data import VERSIONS, SandboxData
from numerpilot.sandbox.faults import FaultPlan, QuietInjectedFaults
from numerpilot.sandbox.routes import build_app
from numerpilot.sandbox.schedule import SandboxClock, Schedule
from numerpilot.sandbox.state import (
    DEMO_PUBLIC_ID,
    DEMO_SECRET_KEY,
    TOURNAMENTS,
    SandboxState,
)
from numerpilot.sandbox.stopping import QuietStop, stop_signals

log = logging.getLogger(__name__)

#: Seconds a stopping sandbox lets the requests it is answering finish before it cuts them.
GRACE = 0.5


def _bind_error(error: OSError, host: str, port: int) -> LocalError:
    number = error_number(error)
    if number == errno.EADDRINUSE:
        return LocalError(
            f"port {port} on {host} is already in use (another sandbox?): stop that "
            "program, or pass --port N for another port (--port 0 picks a free one)."
        )
    if number in (errno.EACCES, errno.EPERM):
        return LocalError(
            f"port {port} needs administrator rights; pass --port N with N above 1023."
        )
    return LocalError(f"cannot listen on {host}:{port} ({error.strerror or error}); pass "
                      "--host 127.0.0.1 or another --port.")  # fmt: skip


class SandboxServer:
    """A local Numerai API stand-in; ``with SandboxServer(dir) as sb: sb.url``.

    ``start()`` serves on a background thread (tests, demos); ``serve_forever()`` serves in
    the foreground until interrupted (``numerpilot sandbox serve``).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        spec: SyntheticSpec | None = None,
        start: datetime | None = None,
        speed: float = 1.0,
        faults: FaultPlan | None = None,
        public_id: str = DEMO_PUBLIC_ID,
        secret_key: str = DEMO_SECRET_KEY,
        schedule: Schedule | None = None,
        versions: Sequence[str] = VERSIONS,
    ) -> None:
        self.clock = SandboxClock(start, speed)
        self.data = SandboxData(Path(data_dir), spec or DemoConfig().spec(), versions)
        self.state = SandboxState(self.data, self.clock, public_id, secret_key, schedule=schedule)
        self.faults = faults or FaultPlan()
        self.host, self._port = host, port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        """Base URL (``http://127.0.0.1:PORT/``) once started."""
        if self._url is None:
            raise RuntimeError("the sandbox is not started")
        return self._url

    def bind(self) -> str:
        """Take the port now (before the dataset is prepared); returns the base URL.

        A port in use, one that needs privileges or an address this machine does not have
        raise :class:`~numerpilot.errors.LocalError` with what to do instead.
        """
        if self._socket is not None:
            return self.url
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self._port))
            sock.listen(128)
        except OSError as error:
            sock.close()
            raise _bind_error(error, self.host, self._port) from None
        self._socket = sock
        host, port = sock.getsockname()[:2]
        self._url = (
            f"http://{host}:{port}/" if family == socket.AF_INET else f"http://[{host}]:{port}/"
        )
        return self._url

    def model_names(self) -> dict[str, list[str]]:
        """The sandbox account's model names per tournament ("classic": [...], ...)."""
        names: dict[str, list[str]] = {}
        for model in self.state.models:
            names.setdefault(TOURNAMENTS.get(model.tournament, str(model.tournament)), []).append(
                model.name
            )
        return names

    def _prepare(self) -> uvicorn.Server:
        self.bind()
        self.data.ensure_base()
        for name in ("uvicorn.error", "uvicorn"):
            logger = logging.getLogger(name)
            for quiet in (QuietInjectedFaults, QuietStop):
                if not any(isinstance(f, quiet) for f in logger.filters):  # once a process
                    logger.addFilter(quiet())
        config = uvicorn.Config(
            build_app(self.state, self.faults),
            log_config=None,
            access_log=False,
            http="h11",
            lifespan="off",
            date_header=False,
            server_header=False,
            timeout_keep_alive=5,
        )
        self._server = uvicorn.Server(config)
        return self._server

    def start(self) -> SandboxServer:
        server = self._prepare()
        assert self._socket is not None
        self._thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [self._socket]},
            daemon=True,
            name="numerpilot-sandbox",
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.01)
        return self

    def serve_forever(self, ready: Callable[[str], None] | None = None) -> None:
        """Serve until SIGTERM (then return) or Ctrl-C (KeyboardInterrupt, raised once the
        server stopped); ``ready(url)`` is called once it answers. The server runs in its
        own thread, and both signals only ask it to stop: neither lands inside the start
        of its event loop, nor in a wait for its thread (Python 3.11 then takes a thread
        still running for one that ended, and would exit under it)."""
        with stop_signals() as asked:
            self.start()
            if ready is not None:
                ready(self.url)
            try:
                while not asked and self._thread is not None and self._thread.is_alive():
                    asked.event.wait(timeout=0.2)
            finally:
                self.stop()
        if signal.SIGINT in asked.signals:
            raise KeyboardInterrupt

    def stop(self) -> None:
        """Stop serving: at once for idle connections; a request still running (a
        ``--latency`` wait, an upload still being sent) is cut after :data:`GRACE` s."""
        server, thread = self._server, self._thread
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=GRACE)
            if thread.is_alive() and server is not None:
                server.force_exit = True  # stop waiting for the connections left
            thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def received(self) -> list[dict[str, Any]]:
        """Summaries of every submission received (no file contents)."""
        return self.state.received()
