"""Soak: the daemon as a process, SIGKILLed at random and restarted, against a faulty
sandbox whose compressed schedule opens a round every few seconds. Afterwards the
sandbox holds exactly one submission per model for every round the daemon saw, and the
ledger agrees with it row for row."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.automation.conftest import ready_workdir

from numerpilot.api.client import NumeraiClient
from numerpilot.credentials import Credentials
from numerpilot.sandbox import DEMO_PUBLIC_ID, DEMO_SECRET_KEY, FaultPlan, SandboxServer
from numerpilot.sandbox.presets import SMALL_SPEC
from numerpilot.sandbox.schedule import CompressedSchedule, RoundWindow
from numerpilot.submission.ledger import Ledger

ROUND_SECONDS = 7.5
#: 12 rounds (90 s) in `make test`; NUMERPILOT_SOAK_ROUNDS=40 for a longer soak (and
#: scripts/soak_daemon.py for one of real minutes-long rounds).
ROUNDS = int(os.environ.get("NUMERPILOT_SOAK_ROUNDS", "12"))
#: Seconds between two SIGKILLs: uniform in this range.
KILL_EVERY = (10.0, 18.0)
MODELS = ("sandbox_model", "sandbox_model_2")
#: A round is owed a submission per model when a daemon process, past its start-up (a
#: fresh process imports for 2-5 s on 2 busy cores), lived through WORK seconds of the
#: round's window: enough to download the live era, predict and upload twice through the
#: faults (an uncertain upload is settled on the next pass, half a second later). Each
#: submission asks Numerai three times (before predicting, before the upload, where it
#: landed), each through 10 % errors with back-off: at 4 s, 2 of 7 soaks beside the rest of
#: the suite had a round whose lost answer was still being settled when it closed.
STARTUP, WORK = 5.0, 5.0


def _start(work: Path, url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "NUMERPILOT_API_URL": url,
        "NUMERAI_PUBLIC_ID": DEMO_PUBLIC_ID,
        "NUMERAI_SECRET_KEY": DEMO_SECRET_KEY,
    }
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "numerpilot", "daemon", "-C", str(work)],
            env=env, stdout=sink, stderr=sink,
        )  # fmt: skip


def _owed(window: RoundWindow, lives: list[list[datetime]]) -> bool:
    """Some daemon process was up and past its start-up for WORK seconds of the window."""
    for start, end in lives:
        ready = max(window.open_time, start + timedelta(seconds=STARTUP))
        if (min(window.close_time, end) - ready).total_seconds() >= WORK:
            return True
    return False


@pytest.mark.e2e
def test_soak_kills_faults_and_exactly_once(tmp_path: Path, creds: Credentials) -> None:
    schedule = CompressedSchedule(datetime.now(UTC), ROUND_SECONDS, ROUND_SECONDS * 0.7)
    faults = FaultPlan(seed=1)
    with SandboxServer(tmp_path / "sb", spec=SMALL_SPEC, schedule=schedule,
                       faults=faults) as sandbox:  # fmt: skip
        client = NumeraiClient(creds, sandbox.url, timeout=2.0, retries=4, backoff=0.05)
        work = ready_workdir(tmp_path / "wd", client)
        faults.error_rate, faults.latency, faults.drop_rate = 0.10, 0.05, 0.03
        faults.truncate_rate, faults.lose_rate, faults.lose_hold = 0.03, 0.10, 1.5
        rng = random.Random(7)
        log = tmp_path / "daemon.log"
        last = sandbox.state.current().number + ROUNDS
        proc, lives = _start(work.root, sandbox.url, log), [[sandbox.clock.now()]]
        while sandbox.state.current().number <= last:
            time.sleep(rng.uniform(*KILL_EVERY))
            if sandbox.state.current().number > last:
                break
            proc.send_signal(signal.SIGKILL)  # anywhere: mid-download, mid-upload, ...
            proc.wait()
            lives[-1].append(sandbox.clock.now())
            proc = _start(work.root, sandbox.url, log)
            lives.append([sandbox.clock.now()])
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()[-3000:]
        lives[-1].append(sandbox.clock.now())
        submissions = list(sandbox.state.submissions)
        owed = [w.number for w in map(schedule.window, range(600, last + 1)) if _owed(w, lives)]
    counts: dict[tuple[str, int], list[str]] = {}
    for sub in submissions:
        counts.setdefault((sub.model_name, sub.round), []).append(sub.id)
    # Not vacuous: a life per longest gap between kills at least, and rounds that each life
    # had time to play (about 1 in 2 on a quiet machine, fewer when the kills land early
    # in busy windows).
    least_lives = int(ROUNDS * ROUND_SECONDS // KILL_EVERY[1])
    assert len(lives) >= least_lives and len(owed) >= ROUNDS // 4, (len(lives), owed)
    assert all(len(ids) == 1 for ids in counts.values()), counts  # never twice
    rows = {(r.model_name, r.round): r for r in Ledger(work.state_db).history(1000)}
    unsure = 0
    for number in owed:  # never missed: submitted, or still being tried when it closed
        for model in MODELS:
            about = [line for line in log.read_text().splitlines() if str(number) in line]
            row = rows.get((model, number))
            late = row is not None and "unsure" in str(row.last_error)  # settled or not yet
            assert (model, number) in counts or late, (model, number, lives, about)
            unsure += late
    # Three faulty uploads in a row can fill a round's 5 seconds (10 % errors, 10 % lost
    # answers, drops and cuts on the create call): such a round is recorded as failed, with
    # its reason, and it stays rare.
    assert unsure <= max(1, len(owed) * len(MODELS) // 8), (unsure, owed)
    for (model, number), (sid,) in counts.items():  # the ledger agrees row for row
        row = rows[(model, number)]
        assert (row.state, row.submission_id) == ("submitted", sid)
    assert {k for k, r in rows.items() if r.state == "submitted"} == set(counts)
