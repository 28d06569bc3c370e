"""Fault injection for the sandbox: 5xx answers, latency, dropped connections, truncation,
and lost answers.

Faults come from rates (a share of requests, drawn from a seeded generator) or from a
queue of scripted one-shot faults (deterministic tests: "the next file download is cut
in half"). They are applied by an ASGI middleware around the whole app. A *lost answer*
is the nastiest: the server does all the work (the submission is created) and then the
answer never arrives; the client sees a timeout. It applies to the create mutations only,
so the GraphQL handler asks for it once it knows the operation (:meth:`FaultPlan.lose`).
Its scripted cousin ``fail_after`` does the work and answers 503, as a proxy may.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Literal

FaultKind = Literal["error", "latency", "drop", "truncate", "lose", "fail_after"]
#: GraphQL operations a lost answer applies to (they change state on the server).
MUTATIONS = ("create_submission", "createSignalsSubmission", "createComputePickleUpload")
#: Scope key through which the GraphQL handler asks the middleware to lose the answer.
LOSE_KEY = "numerpilot.lose_answer"
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_DROP_LOG_MARK = "returned without completing response"


@dataclass
class _Scripted:
    kind: FaultKind
    path_prefix: str
    seconds: float


@dataclass
class FaultPlan:
    """What goes wrong: rates in [0, 1] for each kind plus scripted one-shot faults."""

    error_rate: float = 0.0
    latency: float = 0.0
    drop_rate: float = 0.0
    truncate_rate: float = 0.0
    seed: int = 0
    lose_rate: float = 0.0
    #: how long a lost answer keeps the connection silent before closing it
    lose_hold: float = 5.0
    _queue: list[_Scripted] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("error_rate", "drop_rate", "truncate_rate", "lose_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")
        if self.latency < 0:
            raise ValueError("latency must be >= 0")
        self._rng = random.Random(self.seed)

    def script(
        self, kind: FaultKind, path_prefix: str = "/", *, count: int = 1, seconds: float = 0.0
    ) -> None:
        """Queue ``count`` faults for the next requests whose path starts with the prefix."""
        with self._lock:
            self._queue.extend(_Scripted(kind, path_prefix, seconds) for _ in range(count))

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self.error_rate = self.drop_rate = self.truncate_rate = self.latency = 0.0
            self.lose_rate = 0.0

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def lose(self, field: str, kind: FaultKind = "lose") -> bool:
        """Whether the answer to GraphQL operation ``field`` is to be lost (mutations only;
        a scripted ``lose`` fault's prefix names the operation); with ``kind`` "fail_after",
        whether it is to be a 503 (scripted only)."""
        if field not in MUTATIONS:
            return False
        with self._lock:
            for i, item in enumerate(self._queue):
                if item.kind == kind and field.startswith(item.path_prefix.lstrip("/")):
                    del self._queue[i]
                    return True
            return kind == "lose" and bool(self.lose_rate) and self._rng.random() < self.lose_rate

    def draw(self, path: str) -> tuple[list[FaultKind], float]:
        """The faults for one request and the latency (seconds) to add before answering."""
        with self._lock:
            for i, item in enumerate(self._queue):
                if item.kind not in ("lose", "fail_after") and path.startswith(item.path_prefix):
                    del self._queue[i]
                    delay = item.seconds if item.kind == "latency" else 0.0
                    return [item.kind], delay
            kinds: list[FaultKind] = []
            for kind, rate in (
                ("error", self.error_rate),
                ("drop", self.drop_rate),
                ("truncate", self.truncate_rate),
            ):
                if rate and self._rng.random() < rate:
                    kinds.append(kind)  # type: ignore[arg-type]
            return kinds, self.latency


class FaultMiddleware:
    """ASGI middleware applying :class:`FaultPlan` to every HTTP request."""

    def __init__(self, app: ASGIApp, plan: FaultPlan) -> None:
        self.app = app
        self.plan = plan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith("/sandbox/"):
            await self.app(scope, receive, send)  # the sandbox's own routes never fail
            return
        kinds, delay = self.plan.draw(str(scope.get("path", "/")))
        if delay:
            await asyncio.sleep(delay)
        if "error" in kinds:
            await _send_503(send)
            return
        if "drop" in kinds:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-length", b"1000")],
                }
            )
            return  # the server closes the connection: the response never completes
        if "truncate" in kinds:
            # An incomplete response: uvicorn closes the connection.
            with contextlib.suppress(_TruncatedError):
                await self.app(scope, receive, _truncating(send))
            return
        lost: dict[str, bool] = {}
        scope[LOSE_KEY] = lost
        await self.app(scope, receive, _unless_lost(send, lost))
        if lost.get("lose"):
            await asyncio.sleep(self.plan.lose_hold)  # silence, then the connection closes


class _TruncatedError(Exception):
    """Raised inside the app to stop after a partial body (the connection is closed)."""


def _truncating(send: Send) -> Send:
    """A ``send`` that forwards half of the first body chunk, then gives up."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.body":
            body: bytes = message.get("body", b"")
            await send(
                {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
            )
            raise _TruncatedError
        await send(message)

    return wrapped


def _unless_lost(send: Send, lost: dict[str, bool]) -> Send:
    """A ``send`` that swallows the whole response once the handler asked to lose it."""

    async def wrapped(message: Message) -> None:
        if not lost.get("lose"):
            await send(message)

    return wrapped


#: What an injected 503 says.
BODY_503 = b'{"errors": [{"message": "sandbox: injected 503 Service Unavailable"}]}'


async def _send_503(send: Send) -> None:
    body = BODY_503
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class QuietInjectedFaults(logging.Filter):
    """Hide uvicorn's error lines for connections the sandbox cut on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], _TruncatedError):
            return False
        return _DROP_LOG_MARK not in record.getMessage()
