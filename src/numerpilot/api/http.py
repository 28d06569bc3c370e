"""HTTP with timeouts on every request, retries with backoff, and resumable downloads.

Retried: connection errors, timeouts, cut-off responses, HTTP 429 and 5xx (after the
server's ``Retry-After`` when it gives one, up to a minute). Not retried: other 4xx (they
will not get better). A request that is not idempotent (a mutation) is retried only when
it cannot have reached the server (the connection was never made) or the server said so
(429: a rate limit turns a request away before it is carried out); any other failure, a
5xx included (a proxy may answer 503 after the work was done), raises an *uncertain*
error, so that the caller checks what happened before sending it again. Messages never
include headers or query strings (presigned URLs carry signatures), only the host.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.auth
from urllib3.exceptions import NewConnectionError

from numerpilot.api.errors import NumeraiAPIError
from numerpilot.io import write_json_atomic
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

    def sleep(self, attempt: int, at_least: float = 0.0) -> None:
        """Wait before attempt ``attempt + 1``: the backoff, or ``at_least`` (a server's
        ``Retry-After``) if longer, at most :data:`MAX_RETRY_AFTER`."""
        time.sleep(min(max(min(self.backoff * 2**attempt, self.max_backoff), at_least),
                       MAX_RETRY_AFTER))  # fmt: skip


#: Seconds a server's ``Retry-After`` may make one retry wait.
MAX_RETRY_AFTER = 60.0
#: The answer that says the request was not carried out: safe to send a mutation again.
_RATE_LIMITED = 429


def retry_after(resp: requests.Response) -> float:
    """The seconds a ``Retry-After`` header asks for (0 without one, or for a date)."""
    value = (resp.headers.get("Retry-After") or "").strip()
    try:
        return max(float(value), 0.0) if value else 0.0
    except ValueError:
        return 0.0


def never_sent(error: BaseException) -> bool:
    """True when the request cannot have reached the server (no connection was made)."""
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    reason = error.args[0] if error.args else None
    reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
    return isinstance(reason, NewConnectionError)


def host_of(url: str, *, path: bool = False) -> str:
    """``scheme://host[:port]`` of ``url``, with its path if ``path`` (the API's endpoint,
    as the user set it; never for a presigned URL), never its user name, password or query."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    if not netloc:
        return "the server"
    return f"{parts.scheme}://{netloc}{parts.path if path else ''}"


class HeaderAuth(requests.auth.AuthBase):
    """Sets exactly the ``Authorization`` header given (None: none at all). Passed as
    ``auth`` on every request, it keeps requests from sending credentials of its own: a
    ``~/.netrc`` entry or a URL's ``user:password@`` would replace Numerai's token (and
    reach hosts they were never meant for)."""

    def __init__(self, header: str | None = None) -> None:
        self.header = header

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.pop("Authorization", None)
        if self.header is not None:
            request.headers["Authorization"] = self.header
        return request


def _describe(error: BaseException) -> str:
    if isinstance(error, requests.exceptions.Timeout):
        return "timed out"
    if isinstance(error, requests.exceptions.ChunkedEncodingError):
        return "connection cut off mid-response"
    if isinstance(error, requests.exceptions.ConnectionError):
        return "could not connect or connection dropped"
    return type(error).__name__


#: How a request that may or may not have been carried out ends its message.
UNSURE_TAIL = "; Numerai may or may not have carried it out. Check before sending it again."


def _uncertain(what: str, cause: str, url: str, *, answered: bool = False) -> NumeraiAPIError:
    host = host_of(url)
    said = f"{host} answered {cause}" if answered else f"no answer from {host} ({cause})"
    return NumeraiAPIError(
        f"{what}: {said}{UNSURE_TAIL}",
        retryable=True,
        uncertain=True,
        answered=answered,
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
        last, wait = "", 0.0
        attempts = self.policy.retries + 1
        kwargs.setdefault("auth", HeaderAuth())  # no netrc or URL credentials, ever
        for attempt in range(attempts):
            try:
                resp = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except _TRANSIENT as error:
                last, wait = _describe(error), 0.0
                if not idempotent and not never_sent(error):
                    raise _uncertain(what, last, url) from None
            else:
                if resp.status_code != _RATE_LIMITED and resp.status_code < 500:
                    return resp
                last, wait = f"HTTP {resp.status_code}", retry_after(resp)
                resp.close()
                if not idempotent and resp.status_code != _RATE_LIMITED:
                    raise _uncertain(what, last, url, answered=True)
            log.info("%s: %s (attempt %d of %d)%s", what, last, attempt + 1, attempts,
                     f"; the server asks to wait {wait:g} s" if wait else "")  # fmt: skip
            if attempt + 1 < attempts:
                self.policy.sleep(attempt, wait)
        advice = ("Numerai is limiting the rate of requests: try again in a few minutes."
                  if last == f"HTTP {_RATE_LIMITED}" else "Check your network connection, or "
                  "try again later if Numerai is down.")  # fmt: skip
        if last == _describe(requests.exceptions.Timeout()):  # slow, maybe not down
            advice += (f" Each attempt waited {self.timeout:g} s for an answer ([api] "
                       "timeout): raise it if Numerai answers slowly.")  # fmt: skip
        raise NumeraiAPIError(
            f"{what} failed after {attempts} attempt{'s' if attempts > 1 else ''} ({last}) at "
            f"{host_of(url)}. {advice}",
            retryable=True,
        )

    def download(
        self,
        url: str,
        dest: Path,
        *,
        what: str,
        progress: Progress = SILENT,
        check: Callable[[Path], str | None] | None = None,
    ) -> Path:
        """GET ``url`` into ``dest`` via ``dest.temp``, resuming with Range, size-checked,
        and, with ``check``, only published when ``check(part)`` finds nothing wrong (it
        returns what the file should have been: an error page answered with 200 is no
        dataset).

        A partial file is resumed only when the server confirms it is the same object: its
        validator (``ETag``, else ``Last-Modified``) is recorded in ``dest.temp.json`` and
        sent as ``If-Range``, so a changed object comes back whole (HTTP 200) and replaces
        the part. A part without a recorded validator is never resumed.
        """
        temp = dest.with_name(dest.name + ".temp")
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = _Part(temp)
        part.forget_unless_validated()
        failures = 0
        with contextlib.ExitStack() as stack:
            opened: list[Advance] = []

            def begin(total: int | None, have: int) -> Advance:
                if not opened:
                    opened.append(stack.enter_context(progress.task(what, total)))
                    opened[0](have)
                return opened[0]

            while True:
                try:
                    total = self._fetch(url, part, what, begin)
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
                size = part.size()
                if total is not None and size < total:
                    failures += 1
                    if failures > self.policy.retries:
                        raise NumeraiAPIError(
                            f"{what} stayed incomplete ({size} of {total} "
                            "bytes); run the command again to resume.",
                            retryable=True,
                        )
                    continue
                _publish_checked(part, dest, total, what, check)
                return dest

    def _fetch(
        self,
        url: str,
        part: _Part,
        what: str,
        begin: Callable[[int | None, int], Advance],
    ) -> int | None:
        """One GET (resuming the part if any) written to it; returns the announced size."""
        have = part.size()
        headers = {"Range": f"bytes={have}-"} if have else {}
        if have and part.validator:
            headers["If-Range"] = part.validator
        resp = self.request("GET", url, what=what, headers=headers, stream=True)
        with resp:
            if resp.status_code == 416:  # we already have everything (or a stale part)
                total = _content_range_total(resp.headers.get("Content-Range"))
                if total is not None and have == total:
                    begin(total, have)
                    return total
                part.discard()
                raise requests.exceptions.ConnectionError("stale partial file discarded")
            if resp.status_code >= 400:
                raise NumeraiAPIError(
                    f"{what}: the server answered HTTP {resp.status_code}. "
                    "The download link may have expired: run the command "
                    "again."
                )
            validator = _validator(resp)
            if resp.status_code == 206 and part.validator and validator != part.validator:
                part.discard()  # a server that ignored If-Range: another object's bytes
                raise requests.exceptions.ConnectionError("the object changed; starting over")
            if resp.status_code == 206:
                total = _content_range_total(resp.headers.get("Content-Range"))
                mode = "ab"
            else:  # the whole object: a first download, or the object changed
                length = resp.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                mode, have = "wb", 0
                part.start(validator)
            step = begin(total, have)
            try:
                with part.path.open(mode) as fh:
                    for chunk in _chunks(resp):
                        fh.write(chunk)
                        step(len(chunk))
            except OSError as error:  # a full disk: the part is kept for the next attempt
                if isinstance(error, _TRANSIENT) or error.filename is not None:
                    raise
                raise OSError(error.errno, error.strerror, str(part.path)) from error
        return total


def _validator(resp: requests.Response) -> str | None:
    """What identifies the object's version: a strong ``ETag``, else ``Last-Modified``."""
    etag = resp.headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return resp.headers.get("Last-Modified")


class _Part:
    """A partial download (``<dest>.temp``) and its validator (``<dest>.temp.json``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.meta = path.with_name(path.name + ".json")
        self.validator: str | None = None
        if path.exists():
            try:
                self.validator = str(json.loads(self.meta.read_text("utf-8"))["validator"])
            except (OSError, ValueError, KeyError, TypeError):
                self.validator = None

    def size(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def forget_unless_validated(self) -> None:
        """A part of unknown origin (no validator recorded) is never resumed."""
        if self.path.exists() and self.validator is None:
            log.info("%s: no record of which object it belongs to; starting over", self.path)
            self.discard()

    def start(self, validator: str | None) -> None:
        """A new object: record its validator (or none) before its first byte lands."""
        self.validator = validator
        if validator is None:
            self.meta.unlink(missing_ok=True)
        else:
            write_json_atomic(self.meta, {"validator": validator})

    def is_text_page(self) -> bool:
        """Whether the part starts like an HTML or XML page (a storage error's body)."""
        with self.path.open("rb") as fh:
            return fh.read(64).lstrip().startswith(b"<")

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)
        self.meta.unlink(missing_ok=True)
        self.validator = None

    def publish(self, dest: Path) -> None:
        with self.path.open("rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(self.path, dest)
        self.meta.unlink(missing_ok=True)


def _chunks(resp: requests.Response) -> Iterator[bytes]:
    yield from resp.iter_content(CHUNK)  # looked up at call time (tests shrink it)


def _content_range_total(header: str | None) -> int | None:
    if not header or "/" not in header:
        return None
    total = header.rsplit("/", 1)[1].strip()
    return int(total) if total.isdigit() else None


def _publish_checked(
    part: _Part,
    dest: Path,
    total: int | None,
    what: str,
    check: Callable[[Path], str | None] | None,
) -> None:
    """Publish a whole part as ``dest``; a part of another size than announced, or one
    ``check`` refuses, is discarded instead (and said)."""
    size = part.size()
    if total is not None and size != total:
        part.discard()
        raise NumeraiAPIError(
            f"{what}: received {size} bytes but the server "
            f"announced {total}; the partial file was deleted, "
            "run the command again."
        )
    if check is not None and (expected := check(part.path)) is not None:
        page = " (a web page: an error message?)" if part.is_text_page() else ""
        part.discard()
        raise NumeraiAPIError(
            f"{what}: the server sent {size:,} bytes that are not {expected}{page}; "
            "nothing was kept. Run the command again later (the download link "
            "Numerai gave may not work for now).",
            retryable=True,
        )
    part.publish(dest)
