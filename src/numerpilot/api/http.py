"""HTTP with timeouts on every request, retries with backoff, and resumable downloads.

Retried: connection errors, timeouts, cut-off responses, HTTP 429 and 5xx. Not retried:
other 4xx (they will not get better). A request that is not idempotent (a mutation) is
retried only when it cannot have reached the server (the connection was never made) or
the server said so (429, 503); any other failure raises an *uncertain* error, so that the
caller checks what happened before sending it again. Messages never include headers or
query strings (presigned URLs carry signatures), only the host.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NewConnectionError

from numerpilot.api.errors import NumeraiAPIError
from numerpilot.progress import SILENT, Advance, Progress

log = logging.getLogger(__name__)

#: Read size; a cut-off transfer keeps everything up to the last complete chunk.
CHUNK = 256 * 1024
_TRANSIENT = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


@dataclass(frozen=True)
class RetryPolicy:
    """``retries`` extra attempts; sleep ``backoff * 2**attempt`` (capped) between them."""

    retries: int = 3
    backoff: float = 1.0
    max_backoff: float = 30.0

    def sleep(self, attempt: int) -> None:
        time.sleep(min(self.backoff * 2**attempt, self.max_backoff))


#: Answers that say the request was not carried out: safe to send a mutation again.
_NOT_DONE = (429, 503)


def never_sent(error: BaseException) -> bool:
    """True when the request cannot have reached the server (no connection was made)."""
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    reason = error.args[0] if error.args else None
    reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
    return isinstance(reason, NewConnectionError)


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else "the server"


def _describe(error: BaseException) -> str:
    if isinstance(error, requests.exceptions.Timeout):
        return "timed out"
    if isinstance(error, requests.exceptions.ChunkedEncodingError):
        return "connection cut off mid-response"
    if isinstance(error, requests.exceptions.ConnectionError):
        return "could not connect or connection dropped"
    return type(error).__name__


def _uncertain(what: str, cause: str, url: str) -> NumeraiAPIError:
    return NumeraiAPIError(
        f"{what}: no answer from {host_of(url)} ({cause}); Numerai may or may not have "
        "carried it out. Check before sending it again.",
        retryable=True,
        uncertain=True,
    )


class Http:
    """A ``requests.Session`` with a timeout on every call and a retry policy."""

    def __init__(self, timeout: float = 30.0, policy: RetryPolicy | None = None) -> None:
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        self.session = requests.Session()
        self.session.trust_env = True

    def request(
        self, method: str, url: str, *, what: str, idempotent: bool = True, **kwargs: Any
    ) -> requests.Response:
        """Send with retries; returns the first response that is not 429/5xx."""
        last = ""
        attempts = self.policy.retries + 1
        for attempt in range(attempts):
            try:
                resp = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except _TRANSIENT as error:
                last = _describe(error)
                if not idempotent and not never_sent(error):
                    raise _uncertain(what, last, url) from None
            else:
                if resp.status_code != 429 and resp.status_code < 500:
                    return resp
                last = f"HTTP {resp.status_code}"
                resp.close()
                if not idempotent and resp.status_code not in _NOT_DONE:
                    raise _uncertain(what, last, url)
            log.info("%s: %s (attempt %d of %d)", what, last, attempt + 1, attempts)
            if attempt + 1 < attempts:
                self.policy.sleep(attempt)
        raise NumeraiAPIError(
            f"{what} failed after {attempts} attempts ({last}) at {host_of(url)}. "
            "Check your network connection, or try again later if Numerai is down.",
            retryable=True,
        )

    def download(self, url: str, dest: Path, *, what: str, progress: Progress = SILENT) -> Path:
        """GET ``url`` into ``dest`` via ``dest.temp``, resuming with Range, size-checked."""
        temp = dest.with_name(dest.name + ".temp")
        dest.parent.mkdir(parents=True, exist_ok=True)
        failures = 0
        with contextlib.ExitStack() as stack:
            opened: list[Advance] = []

            def begin(total: int | None, have: int) -> Advance:
                if not opened:
                    opened.append(stack.enter_context(progress.task(what, total)))
                    opened[0](have)
                return opened[0]

            while True:
                have = temp.stat().st_size if temp.exists() else 0
                try:
                    total = self._fetch(url, temp, have, what, begin)
                except _TRANSIENT as error:
                    failures += 1
                    if failures > self.policy.retries:
                        raise NumeraiAPIError(
                            f"{what} was interrupted {failures} times ({_describe(error)}); "
                            f"the partial file is kept in {temp.name}: run the command again "
                            "to resume.",
                            retryable=True,
                        ) from None
                    log.info("%s: %s, resuming", what, _describe(error))
                    self.policy.sleep(failures - 1)
                    continue
                size = temp.stat().st_size
                if total is not None and size < total:
                    failures += 1
                    if failures > self.policy.retries:
                        raise NumeraiAPIError(
                            f"{what} stayed incomplete ({size} of {total} "
                            "bytes); run the command again to resume.",
                            retryable=True,
                        )
                    continue
                if total is not None and size != total:
                    temp.unlink()
                    raise NumeraiAPIError(
                        f"{what}: received {size} bytes but the server "
                        f"announced {total}; the partial file was deleted, "
                        "run the command again."
                    )
                with temp.open("rb+") as fh:
                    os.fsync(fh.fileno())
                os.replace(temp, dest)
                return dest

    def _fetch(
        self,
        url: str,
        temp: Path,
        have: int,
        what: str,
        begin: Callable[[int | None, int], Advance],
    ) -> int | None:
        """One GET (resuming at ``have``) appended to ``temp``; returns the announced size."""
        headers = {"Range": f"bytes={have}-"} if have else {}
        resp = self.request("GET", url, what=what, headers=headers, stream=True)
        with resp:
            if resp.status_code == 416:  # we already have everything (or a stale temp)
                total = _content_range_total(resp.headers.get("Content-Range"))
                if total is not None and have == total:
                    begin(total, have)
                    return total
                temp.unlink(missing_ok=True)
                raise requests.exceptions.ConnectionError("stale partial file discarded")
            if resp.status_code >= 400:
                raise NumeraiAPIError(
                    f"{what}: the server answered HTTP {resp.status_code}. "
                    "The download link may have expired: run the command "
                    "again."
                )
            if resp.status_code == 206:
                total = _content_range_total(resp.headers.get("Content-Range"))
                mode = "ab"
            else:
                length = resp.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                mode, have = "wb", 0
            step = begin(total, have)
            with temp.open(mode) as fh:
                for chunk in _chunks(resp):
                    fh.write(chunk)
                    step(len(chunk))
        return total


def _chunks(resp: requests.Response) -> Iterator[bytes]:
    yield from resp.iter_content(CHUNK)  # looked up at call time (tests shrink it)


def _content_range_total(header: str | None) -> int | None:
    if not header or "/" not in header:
        return None
    total = header.rsplit("/", 1)[1].strip()
    return int(total) if total.isdigit() else None
