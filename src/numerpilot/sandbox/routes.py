"""The sandbox's routes: a Starlette app over a :class:`SandboxState`, with the
``Date`` header of the sandbox clock on every response.

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
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from email.utils import formatdate
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.requests import Request as HttpRequest
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from numerpilot.errors import LocalError
from numerpilot.sandbox import graphql
from numerpilot.sandbox.data import SERVED_FILES
from numerpilot.sandbox.faults import (
    BODY_503,
    LOSE_KEY,
    ASGIApp,
    FaultMiddleware,
    FaultPlan,
    Message,
    Receive,
    Scope,
    Send,
)
from numerpilot.sandbox.schedule import RoundWindow, SandboxClock, iso
from numerpilot.sandbox.state import CHANGES, SandboxError, SandboxState


def served_file(state: SandboxState, filename: str) -> Callable[[int], Path] | None:
    """The file behind a dataset name (per round), or None when the sandbox has none."""
    version, _, name = filename.rpartition("/")
    if version in state.data.versions and name in SERVED_FILES:
        return lambda number: state.data.path(name, number, version)
    for data in state.tickers.values():
        if filename in data.spec.listing():
            return lambda number, data=data: data.path(name, number)  # type: ignore[misc]
    return None


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
