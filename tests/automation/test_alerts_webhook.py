"""The alert webhook as a user's probe found it: a URL that passes the config's check but
that requests cannot use (a host label over 63 characters) crashed the daemon as a bug
(exit 70) instead of being logged, and its token could reach a log line."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from tests.conftest import Numerpilot

from numerpilot.automation.alerts import Alert, Alerts
from numerpilot.credentials import redact
from numerpilot.sandbox import DEMO_PUBLIC_ID, SandboxServer

TOKEN = "TOKENWEBHOOK5551234"
#: A webhook URL the config accepts (an http URL with a host) that urllib3 cannot parse
LONG_LABEL = f"http://a{'b' * 70}.example.com/hooks/{TOKEN}"


def test_an_unusable_webhook_url_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    """It raised urllib3's LocationParseError (a ValueError, not a RequestException)."""
    alerts = Alerts(LONG_LABEL, timeout=2.0)
    with caplog.at_level(logging.WARNING):
        assert alerts.send(Alert("failed", "classic", 870, "m", "the live file is broken")) is False
    assert "the alert webhook failed (LocationParseError)" in caplog.text
    assert TOKEN not in caplog.text
    # the event, then what happened (it read "alert: failed the live file is broken")
    assert "alert (failed): the live file is broken" in caplog.text


def test_the_webhook_url_is_redacted_like_a_key() -> None:
    """A line that quotes the webhook (an HTTP library's, an exception's) showed its token."""
    Alerts(f"http://127.0.0.1:9/services/{TOKEN}?x=1")
    line = redact(f"POST /services/{TOKEN}?x=1 and http://127.0.0.1:9/services/{TOKEN}?x=1")
    assert TOKEN not in line and "***" in line


def test_daemon_once_with_an_unusable_webhook_exits_3_not_70(
    numerpilot: Numerpilot, sandbox: SandboxServer, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Keys Numerai rejects, and the alert about it to a webhook requests cannot reach:
    'numerpilot failed unexpectedly (LocationParseError): this is a bug' with a traceback."""
    monkeypatch.setenv("NUMERPILOT_API_URL", sandbox.url)
    monkeypatch.setenv("NUMERAI_PUBLIC_ID", DEMO_PUBLIC_ID)
    monkeypatch.setenv("NUMERAI_SECRET_KEY", "NOTTHESECRETKEY123")
    (tmp_path / "numerpilot.toml").write_text(
        f'[submission]\nmodels = ["sandbox_model"]\n\n[daemon]\nalert_webhook = "{LONG_LABEL}"\n',
        encoding="utf-8",
    )
    done = numerpilot("daemon", "--once", "-C", str(tmp_path))
    assert done.code == 3, done.err
    assert "Traceback" not in done.err and "this is a bug" not in done.err
    assert "the alert webhook failed" in done.err and "rejected the API keys" in done.err
    assert TOKEN not in done.out + done.err and "NOTTHESECRETKEY123" not in done.err


def test_with_log_json_the_config_warning_and_error_are_json_lines(
    numerpilot: Numerpilot, tmp_path: Path
) -> None:
    """The warning about a webhook others can read, and a refusal of the config, came out
    as plain text before the JSON log began: a log parser met lines that are not JSON."""
    import json

    config = tmp_path / "numerpilot.toml"
    config.write_text(f'[daemon]\nalert_webhook = "http://127.0.0.1:9/hooks/{TOKEN}"\n')
    config.chmod(0o644)
    done = numerpilot("daemon", "--once", "--log-json", "-C", str(tmp_path))
    assert done.code == 1, done.err
    lines = [json.loads(line) for line in done.err.splitlines()]  # every one is JSON
    assert "other users can read it (mode 644)" in lines[0]["message"]
    assert "the daemon has no model to submit for" in lines[-1]["message"]
    assert TOKEN not in done.err
