"""Retries against a server that limits the rate: Retry-After, and what the error says."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from numerpilot.api.client import NumeraiClient
from numerpilot.api.errors import NumeraiAPIError
from numerpilot.api.http import Http, RetryPolicy


@contextlib.contextmanager
def limiting(answers: list[tuple[int, str | None]]) -> Iterator[tuple[str, list[float]]]:
    """A server on 127.0.0.1 answering each POST with the next (status, Retry-After) of
    ``answers`` (then 200); its URL and the times requests arrived."""
    arrived: list[float] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            arrived.append(time.monotonic())
            status, after = answers.pop(0) if answers else (200, None)
            self.send_response(status)
            if after is not None:
                self.send_header("Retry-After", after)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", arrived
    finally:
        server.shutdown()
        server.server_close()


def test_retry_after_is_waited_for() -> None:
    http = Http(timeout=5, policy=RetryPolicy(retries=2, backoff=0.01))
    with limiting([(429, "1"), (503, "0.5")]) as (url, arrived):
        resp = http.request("POST", url, what="rounds", json={})
    assert resp.status_code == 200 and len(arrived) == 3
    assert arrived[1] - arrived[0] >= 0.95 and arrived[2] - arrived[1] >= 0.45


def test_a_rate_limit_that_stays_says_so() -> None:
    """Not 'check your network': the server answered, it asks for fewer requests. A
    mutation turned away by a 429 was not carried out, so it is sent again."""
    http = Http(timeout=5, policy=RetryPolicy(retries=1, backoff=0.01))
    with limiting([(429, None)] * 2) as (url, arrived):
        with pytest.raises(NumeraiAPIError) as error:
            http.request("POST", url, what="Numerai API call 'create_submission'",
                         idempotent=False)  # fmt: skip
    assert len(arrived) == 2 and not error.value.uncertain
    assert str(error.value) == (
        f"Numerai API call 'create_submission' failed after 2 attempts (HTTP 429) at "
        f"{url.rstrip('/')}. Numerai is limiting the rate of requests: try again in a few "
        "minutes."
    )


def test_a_5xx_to_a_mutation_is_not_sent_again_blindly() -> None:
    """A proxy may answer 503 after the work was done: the caller must ask first."""
    http = Http(timeout=5, policy=RetryPolicy(retries=3, backoff=0.01))
    with limiting([(503, None)]) as (url, arrived):
        with pytest.raises(NumeraiAPIError) as error:
            http.request("POST", url, what="create", idempotent=False)
    assert len(arrived) == 1
    assert error.value.uncertain and error.value.answered
    assert "answered HTTP 503; Numerai may or may not have carried it out" in str(error.value)


def test_a_401_to_a_request_without_keys_is_no_key_rejection() -> None:
    """The rounds need no keys: a 401 there is a proxy's or Numerai's trouble (retryable),
    not 'Numerai rejected the API keys' (which ends the daemon)."""
    with limiting([(401, None)]) as (url, _):
        with pytest.raises(NumeraiAPIError) as caught:
            NumeraiClient(None, url, retries=0).rounds(limit=1)
    assert not caught.value.auth and caught.value.retryable
    assert "answered HTTP 401 to a request that needs no API keys" in str(caught.value)
