"""The HTTP layer against small local servers: rate limits and Retry-After, 5xx answers
to mutations, 401s, keys never quoted, no netrc credentials, notes beside an answer."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest
from tests.support.servers import serving

from numerpilot.api.client import NumeraiClient
from numerpilot.api.errors import NumeraiAPIError
from numerpilot.api.http import Http, RetryPolicy


@contextlib.contextmanager
def limiting(answers: list[tuple[int, str | None]]) -> Iterator[tuple[str, list[float]]]:
    """Each request answered with the next (status, Retry-After) of ``answers`` (then
    200); the URL and the times requests arrived."""
    arrived: list[float] = []

    def respond(headers: Message) -> tuple[int, dict[str, str], bytes]:
        arrived.append(time.monotonic())
        status, after = answers.pop(0) if answers else (200, None)
        return status, {} if after is None else {"Retry-After": after}, b"{}"

    with serving(respond) as url:
        yield url, arrived


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
    """Every request refused, quoting the Authorization header it came with (as a careless
    gateway may); the URL and the headers received."""
    received: list[str | None] = []

    def respond(headers: Message) -> tuple[int, dict[str, str], bytes]:
        received.append(headers.get("Authorization"))
        message = f"denied for {received[-1]}"
        return 200, {}, json.dumps({"errors": [{"message": message}]}).encode()

    with serving(respond) as url:
        yield url, received


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


def answering(answer: dict[str, object]) -> contextlib.AbstractContextManager[str]:
    """Every request answered with ``answer``."""
    return serving(lambda headers: (200, {}, json.dumps(answer).encode()))


def test_a_note_beside_a_full_answer_is_no_failure(caplog: pytest.LogCaptureFixture) -> None:
    """GraphQL's 'errors' beside the data asked for (a deprecation notice): every command
    stopped; the answer is used and the note logged. Without the data it still fails."""
    note = {"message": "Field roundScoreConfigs.clipThreshold is deprecated"}
    rounds = [
        {
            "number": 7,
            "openTime": "2025-01-11T12:00:00Z",
            "closeTime": "2025-01-13T12:00:00Z",
            "closeStakingTime": "2025-01-12T14:00:00Z",
        }
    ]
    with answering({"data": {"rounds": rounds}, "errors": [note]}) as url:
        assert NumeraiClient(None, url, retries=0).current_round().number == 7
    assert "Numerai answered with a note: Field roundScoreConfigs" in caplog.text
    failing = pytest.raises(NumeraiAPIError, match="'rounds' failed: Field roundScoreConfigs")
    with answering({"data": {"rounds": None}, "errors": [note]}) as url, failing:
        NumeraiClient(None, url, retries=0).current_round()
