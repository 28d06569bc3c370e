"""The sandbox HTTP server: a Starlette app served by uvicorn, in a thread or in the foreground.

Routes: ``POST /`` (GraphQL), ``GET /files/<version>/<name>?round=N`` (dataset files with
Range/206, ``ETag`` and ``If-Range`` as the storage Numerai serves from), ``PUT
/upload/<key>`` (presigned uploads), ``GET /submissions/<id>`` (a submission file, the link
``submissionDownloadAuth`` gives), ``GET /sandbox/received`` (what was submitted) and ``POST
/sandbox/resolve?round=N`` (score a round now) and ``POST /sandbox/publish?version=v5.4``
(list a new data version from now on, as Numerai publishes one), and Numerai's irregular
days for the next round (or ``round=N``, one not open yet): ``POST /sandbox/skip`` (no round
that day), ``POST /sandbox/delay?seconds=S`` (it opens S seconds late) and ``POST
/sandbox/staking?seconds=S`` (its staking window lasts S seconds); all on the sandbox
clock, each answering the round's times. Faults never touch these.
Every response carries a ``Date`` header from the sandbox clock, so clients that read the
server's time see the simulated schedule.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from email.utils import formatdate
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.requests import Request as HttpRequest
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from numerpilot.config import DemoConfig
from numerpilot.data.synthetic import SyntheticSpec
from numerpilot.errors import LocalError, error_number
from numerpilot.sandbox import graphql
from numerpilot.sandbox.data import SERVED_FILES, VERSIONS, SandboxData
from numerpilot.sandbox.faults import (
    BODY_503,
    LOSE_KEY,
    ASGIApp,
    FaultMiddleware,
    FaultPlan,
    Message,
    QuietInjectedFaults,
    Receive,
    Scope,
    Send,
)
from numerpilot.sandbox.schedule import RoundWindow, SandboxClock, Schedule, iso
from numerpilot.sandbox.state import (
    CHANGES,
    DEMO_PUBLIC_ID,
    DEMO_SECRET_KEY,
    TOURNAMENTS,
    SandboxError,
    SandboxState,
)
from numerpilot.sandbox.stopping import QuietStop, stop_signals

log = logging.getLogger(__name__)


def served_file(state: SandboxState, filename: str) -> Callable[[int], Path] | None:
    """The file behind a dataset name (per round), or None when the sandbox has none."""
    version, _, name = filename.rpartition("/")
    if version in state.data.versions and name in SERVED_FILES:
        return lambda number: state.data.path(name, number, version)
    for data in state.tickers.values():
        if filename in data.spec.listing():
            return lambda number, data=data: data.path(name, number)  # type: ignore[misc]
    return None


#: Seconds a stopping sandbox lets the requests it is answering finish before it cuts them.
GRACE = 0.5

#: The status answered to a client that left before its request arrived whole (nginx's
#: "client closed request"; nobody reads it).
GONE = 499


async def _body(request: HttpRequest) -> bytes | None:
    """The request's body; None when the client left while sending it (a daemon killed
    mid-request, a client timeout): nothing happened, nothing to log."""
    try:
        return await request.body()
    except ClientDisconnect:
        return None


def build_app(state: SandboxState, faults: FaultPlan) -> ASGIApp:
    """The ASGI app: routes, wrapped in fault injection and the clock's Date header."""

    async def gql(request: HttpRequest) -> Response:
        raw = await _body(request)
        if raw is None:
            return Response(b"", GONE)
        auth, base = request.headers.get("authorization"), str(request.base_url)
        lost = request.scope.get(LOSE_KEY)
        return await run_in_threadpool(answer, raw, auth, base, lost)

    def answer(
        raw: bytes, auth: str | None, base_url: str, lost: dict[str, bool] | None = None
    ) -> Response:
        try:
            payload = json.loads(raw or b"{}")
            query, variables = str(payload["query"]), payload.get("variables") or {}
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"errors": [{"message": "Body must be JSON with 'query'."}]}, 400)
        try:
            field, args = graphql.parse(query, variables)
        except SandboxError as error:
            return JSONResponse({"errors": [{"message": str(error)}], "data": None}, 400)
        state.requests.append(field)
        req = graphql.Request(field, args, auth, base_url)
        body = graphql.execute(state, req)
        if lost is not None and body.get("data") and faults.lose(field):
            lost["lose"] = True  # done on the server; the answer never reaches the client
        if body.get("data") and faults.lose(field, "fail_after"):
            return Response(BODY_503, 503, media_type="application/json")  # done, yet a 503
        return JSONResponse(body)

    def files(request: HttpRequest) -> Response:
        filename = request.path_params["path"]
        found = served_file(state, filename)
        if found is None:
            return Response("not found", 404)
        number = int(request.query_params.get("round") or state.current().number)
        if number > state.current().number:
            return Response("round not open yet", 404)
        body = found(number).read_bytes()
        if request.headers.get("range"):
            state.requests.append("range")
        etag = f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'
        wanted = request.headers.get("range")
        if_range = request.headers.get("if-range")
        if wanted and if_range is not None and if_range != etag:
            wanted = None  # the client holds part of another object: send this one whole
        return _ranged(body, wanted, etag)

    async def upload(request: HttpRequest) -> Response:
        body = await _body(request)
        if body is None:
            return Response(b"", GONE)
        if not state.put_upload(request.path_params["key"], body):
            return Response("SignatureDoesNotMatch", 403)
        return Response(b"", 200)

    def submission_file(request: HttpRequest) -> Response:
        try:
            body = state.submission(request.path_params["id"]).data
        except SandboxError:
            return Response("not found", 404)
        etag = f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'
        return _ranged(body, request.headers.get("range"), etag)

    def received(request: HttpRequest) -> Response:
        return JSONResponse(state.received())

    def publish(request: HttpRequest) -> Response:
        try:
            versions = state.data.publish(str(request.query_params.get("version") or ""))
        except LocalError as error:
            return JSONResponse({"error": str(error)}, 400)
        return JSONResponse({"versions": list(versions)})

    def irregular(request: HttpRequest) -> Response:
        try:
            number = state.change_schedule(
                request.url.path.rsplit("/", 1)[-1],
                request.query_params.get("round"),
                request.query_params.get("seconds"),
            )
        except ValueError as error:
            return JSONResponse({"error": str(error)}, 400)
        return JSONResponse(_times(state.window(number)))

    def resolve(request: HttpRequest) -> Response:
        number = int(request.query_params.get("round") or state.current().number)
        state.resolve(number)
        return JSONResponse(state.received())

    app = Starlette(
        routes=[
            Route("/", gql, methods=["POST"]),
            Route("/files/{path:path}", files, methods=["GET"]),
            Route("/upload/{key:path}", upload, methods=["PUT"]),
            Route("/sandbox/received", received, methods=["GET"]),
            Route("/submissions/{id}", submission_file, methods=["GET"]),
            Route("/sandbox/resolve", resolve, methods=["POST"]),
            Route("/sandbox/publish", publish, methods=["POST"]),
            *(Route(f"/sandbox/{name}", irregular, methods=["POST"]) for name in CHANGES),
        ]
    )
    return _DateHeader(FaultMiddleware(app, faults), state.clock)


def _times(window: RoundWindow) -> dict[str, Any]:
    """A round's number and times, as the API writes them."""
    return {
        "round": window.number,
        "openTime": iso(window.open_time),
        "closeStakingTime": iso(window.close_staking_time),
        "closeTime": iso(window.close_time),
    }


def _ranged(body: bytes, header: str | None, etag: str) -> Response:
    size = len(body)
    headers = {"accept-ranges": "bytes", "content-type": "application/octet-stream", "etag": etag}
    if not header or not header.startswith("bytes="):
        return Response(body, 200, headers=headers)
    try:
        first_s, _, last_s = header[len("bytes=") :].partition("-")
        first = int(first_s)
        last = min(int(last_s), size - 1) if last_s else size - 1
    except ValueError:
        return Response("bad range", 400)
    if first >= size or first > last:
        return Response(b"", 416, headers={"content-range": f"bytes */{size}", "etag": etag})
    headers["content-range"] = f"bytes {first}-{last}/{size}"
    return Response(body[first : last + 1], 206, headers=headers)


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


class _DateHeader:
    """Adds ``Date`` from the sandbox clock (uvicorn's own is switched off)."""

    def __init__(self, app: ASGIApp, clock: SandboxClock) -> None:
        self.app, self.clock = app, clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_date(message: Message) -> None:
            if message["type"] == "http.response.start":
                date = formatdate(self.clock.now().timestamp(), usegmt=True).encode()
                message["headers"] = [*message.get("headers", []), (b"date", date)]
            await send(message)

        await self.app(scope, receive, with_date)


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
