"""Retries against a server that limits the rate: Retry-After, and what the error says."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

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
        def do_POST(self) -> None:
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
    with limiting([(429, None)] * 2) as (url, arrived), pytest.raises(NumeraiAPIError) as error:
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
    with limiting([(503, None)]) as (url, arrived), pytest.raises(NumeraiAPIError) as error:
        http.request("POST", url, what="create", idempotent=False)
    assert len(arrived) == 1
    assert error.value.uncertain and error.value.answered
    assert "answered HTTP 503; Numerai may or may not have carried it out" in str(error.value)


def test_a_401_to_a_request_without_keys_is_no_key_rejection() -> None:
    """The rounds need no keys: a 401 there is a proxy's or Numerai's trouble (retryable),
    not 'Numerai rejected the API keys' (which ends the daemon)."""
    with limiting([(401, None)]) as (url, _), pytest.raises(NumeraiAPIError) as caught:
        NumeraiClient(None, url, retries=0).rounds(limit=1)
    assert not caught.value.auth and caught.value.retryable
    assert "answered HTTP 401 to a request that needs no API keys" in str(caught.value)


@contextlib.contextmanager
def echoing() -> Iterator[tuple[str, list[str | None]]]:
    """A GraphQL server that refuses every request, quoting the Authorization header it
    got (as a careless gateway may); its URL and the headers received."""
    received: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            header = self.headers.get("Authorization")
            received.append(header)
            body = json.dumps({"errors": [{"message": f"denied for {header}"}]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", received
    finally:
        server.shutdown()
        server.server_close()


def test_keys_from_a_file_never_appear_in_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also from the calls that go through numerapi's own methods (models, stakes), and
    also in a log line: every key loaded is redacted, not only those in the environment."""
    from numerpilot.credentials import load_credentials, redact

    monkeypatch.delenv("NUMERAI_PUBLIC_ID", raising=False)
    monkeypatch.delenv("NUMERAI_SECRET_KEY", raising=False)
    path = tmp_path / "keys.json"
    path.write_text('{"public_id": "FILEPUBLIC4242", "secret_key": "FILESECRET777XYZ"}')
    path.chmod(0o600)
    with echoing() as (url, received):
        client = NumeraiClient(load_credentials(path), url, retries=0)
        with pytest.raises(NumeraiAPIError) as error:
            client.models()
    assert received == ["Token FILEPUBLIC4242$FILESECRET777XYZ"]  # sent, as it must be
    assert "FILE" not in str(error.value) and "denied for Token ***" in str(error.value)
    assert redact("a line with FILESECRET777XYZ") == "a line with ***"


def test_no_netrc_or_url_credentials_are_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """requests puts a ~/.netrc entry (or a URL's user:password@) in place of a hand-set
    Authorization header: Numerai's token was replaced, and the rounds got Basic auth."""
    from numerpilot.credentials import Credentials

    netrc = tmp_path / ".netrc"
    netrc.write_text("default\nlogin bob\npassword NETRCPW\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(netrc))
    with echoing() as (url, received):
        for creds in (None, Credentials("PUBLICPUBLIC", "SECRETSECRET")):
            with pytest.raises(NumeraiAPIError):
                NumeraiClient(creds, url, retries=0).query("query { account { id } }", None,
                                                           creds is not None)  # fmt: skip
    assert received == [None, "Token PUBLICPUBLIC$SECRETSECRET"]
