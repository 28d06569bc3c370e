"""The daemon over Numerai's irregular days, on a fast sandbox clock: a day skipped."""

from __future__ import annotations

import itertools
import json
import logging
import threading
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.automation.conftest import DAEMON_CONFIG, ready_workdir

from numerpilot.api.client import NumeraiClient
from numerpilot.automation.daemon import Daemon
from numerpilot.config_file import load_config
from numerpilot.credentials import Credentials
from numerpilot.sandbox import SandboxServer
from numerpilot.sandbox.presets import SMALL_SPEC

MODELS = ("sandbox_model", "sandbox_model_2")
#: Four hours of the sandbox's clock a second: Tuesday evening to Thursday in 12 s.
SPEED = 4 * 3600.0
#: Polls of an hour there; a sleep as long as the rhythm says (up to a minute here).
CONFIG = DAEMON_CONFIG.replace("poll_seconds = 0.5", "poll_seconds = 0.25").replace(
    "max_sleep_seconds = 2", "max_sleep_seconds = 60"
)


def _post(url: str) -> dict[str, object]:
    request = urllib.request.Request(url, method="POST")
    with urllib.request.urlopen(request, timeout=5) as answer:
        return dict(json.load(answer))


def test_after_a_skipped_day_the_next_round_is_not_slept_through(
    tmp_path: Path, creds: Credentials, caplog: pytest.LogCaptureFixture
) -> None:
    """Wednesday skipped (``POST /sandbox/skip``): once Wednesday's time passed, the daemon
    expected the weekend's gap, slept until Friday and missed Thursday's round (alerted)."""
    tuesday = datetime(2026, 12, 8, 20, tzinfo=UTC)  # Tuesday's round closed at 19:00
    with SandboxServer(tmp_path / "sb", spec=SMALL_SPEC, start=tuesday, speed=SPEED) as sandbox:
        fast = NumeraiClient(creds, sandbox.url, timeout=1.0, retries=4, backoff=0.05)
        (tmp_path / "wd").mkdir()
        work = ready_workdir(tmp_path / "wd", fast)
        work.config_path.write_text(CONFIG)
        sandbox.clock.set(tuesday)
        thursday = _post(sandbox.url + "sandbox/skip")["round"]
        assert isinstance(thursday, int)
        assert sandbox.state.window(thursday).open_time.weekday() == 3
        closes = sandbox.state.window(thursday).close_time
        stop = threading.Event()
        daemon = Daemon(work, load_config(work.config_path), fast, stop=stop, seed=0)
        thread = threading.Thread(target=daemon.run)
        with caplog.at_level(logging.INFO, logger="numerpilot"):
            thread.start()
            while sandbox.clock.now() < closes and thread.is_alive():
                stop.wait(0.2)
            stop.set()
            thread.join(30)
        rounds = sorted((sub.model_name, sub.round) for sub in sandbox.state.submissions)
        assert rounds == [(model, thursday) for model in MODELS]
        messages = [r.getMessage() for r in caplog.records]
        assert not [m for m in messages if "closed without a submission" in m]
        said = [m for m in messages if "nothing more to do" in m]
        assert all(a != b for a, b in itertools.pairwise(said)), said


def test_an_overdue_round_is_said_once_not_at_every_new_guess(
    tmp_path: Path, creds: Credentials, caplog: pytest.LogCaptureFixture
) -> None:
    """A week with a day skipped and a round 20 minutes late has no weekly rhythm: after
    Saturday's round the daemon guesses the next open from the gaps seen (a day less 20
    minutes, a day, a day and 20 minutes, ...). Each guess that had passed too said
    ``looking again at every poll: the next round is due`` again, a line per guess."""
    monday = datetime(2026, 12, 7, 10, tzinfo=UTC)
    with SandboxServer(tmp_path / "sb", spec=SMALL_SPEC, start=monday, speed=SPEED) as sandbox:
        fast = NumeraiClient(creds, sandbox.url, timeout=1.0, retries=4, backoff=0.05)
        (tmp_path / "wd").mkdir()
        work = ready_workdir(tmp_path / "wd", fast)
        polls = CONFIG.replace("poll_seconds = 0.25", "poll_seconds = 0.05")  # 12 minutes
        work.config_path.write_text(polls.replace("lead_seconds = 0", "lead_seconds = 3600"))
        sandbox.clock.set(monday)
        wednesday = sandbox.state.current().number + 2
        assert _post(sandbox.url + f"sandbox/skip?round={wednesday}")["round"] == wednesday
        friday = wednesday + 1
        _post(sandbox.url + f"sandbox/delay?round={friday}&seconds=1200")
        sandbox.clock.set(datetime(2026, 12, 12, 12, 30, tzinfo=UTC))  # Saturday's round
        until = datetime(2026, 12, 14, 8, tzinfo=UTC)  # Monday morning
        stop = threading.Event()
        daemon = Daemon(work, load_config(work.config_path), fast, stop=stop, seed=0)
        thread = threading.Thread(target=daemon.run)
        with caplog.at_level(logging.INFO, logger="numerpilot"):
            thread.start()
            while sandbox.clock.now() < until and thread.is_alive():
                stop.wait(0.2)
            stop.set()
            thread.join(30)
        assert {sub.round for sub in sandbox.state.submissions} == {friday + 1}
        said = [r.getMessage() for r in caplog.records if "nothing more to do" in r.getMessage()]
        assert all(a != b for a, b in itertools.pairwise(said)), said
