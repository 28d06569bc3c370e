"""The round daemon against the sandbox: one pass, many rounds, locks, alerts, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from numerpilot.api.client import NumeraiClient
from numerpilot.api.errors import NumeraiAPIError
from numerpilot.automation.alerts import Alerts
from numerpilot.automation.clock import backoff_seconds
from numerpilot.automation.daemon import AUTH_RETRIES, Daemon, PassReport
from numerpilot.config_file import load_config
from numerpilot.credentials import Credentials
from numerpilot.lock import LockedError
from numerpilot.sandbox import DEMO_PUBLIC_ID, DEMO_SECRET_KEY, SandboxServer
from numerpilot.sandbox.presets import SMALL_SPEC
from numerpilot.sandbox.schedule import CompressedSchedule
from numerpilot.submission.ledger import Ledger
from numerpilot.workdir import Workdir

MODELS = ("sandbox_model", "sandbox_model_2")


def _daemon(work: Workdir, client: NumeraiClient, **kwargs: object) -> Daemon:
    return Daemon(work, load_config(work.config_path), client, seed=0, **kwargs)  # type: ignore[arg-type]


def _per_round(sandbox: SandboxServer) -> dict[tuple[str, int], int]:
    counts: dict[tuple[str, int], int] = {}
    for sub in sandbox.state.submissions:
        counts[(sub.model_name, sub.round)] = counts.get((sub.model_name, sub.round), 0) + 1
    return counts


def test_one_pass_submits_every_model_once(
    daemon_dir: Workdir, client: NumeraiClient, sandbox: SandboxServer
) -> None:
    report = _daemon(daemon_dir, client).run(once=True)
    number = client.current_round().number
    assert sorted(r.model_name for r in report.results) == sorted(MODELS)
    assert _per_round(sandbox) == {(m, number): 1 for m in MODELS}
    again = _daemon(daemon_dir, client).run(once=True)
    assert again.results == [] and len(sandbox.state.submissions) == 2
    assert again.wake is not None and again.wake > sandbox.clock.now()  # sleeps till next
    rows = Ledger(daemon_dir.state_db).history()
    assert {(r.model_name, r.round, r.state) for r in rows} == {
        (m, number, "submitted") for m in MODELS
    }


def test_rows_left_uploading_long_ago_are_settled(
    daemon_dir: Workdir, sandbox: SandboxServer, client: NumeraiClient
) -> None:
    """A row left 'uploading' ten rounds ago (the daemon was down since) is settled too,
    although a pass reads only the last few rounds."""
    number = client.current_round().number
    ids = client.models()
    ledger = Ledger(daemon_dir.state_db)
    ledger.claim("classic", MODELS[0], ids[MODELS[0]], number - 10, "00", "p")
    _daemon(daemon_dir, client).run(once=True)
    row = ledger.get("classic", ids[MODELS[0]], number - 10)
    assert (
        row is not None and row.state == "failed" and "lists no submission" in str(row.last_error)
    )


def test_daemon_follows_many_rounds_exactly_once(
    tmp_path: Path, creds: Credentials, client: NumeraiClient
) -> None:
    schedule = CompressedSchedule(datetime.now(UTC), round_seconds=4.0, window_seconds=3.0)
    with SandboxServer(tmp_path / "sb", spec=SMALL_SPEC, schedule=schedule) as sandbox:
        fast = NumeraiClient(creds, sandbox.url, timeout=1.0, retries=4, backoff=0.05)
        from tests.automation.conftest import ready_workdir

        work = ready_workdir(tmp_path / "wd", fast)
        first = sandbox.state.current().number + 1  # the first round the daemon sees whole
        stop = threading.Event()
        runner = _daemon(work, fast, stop=stop)
        thread = threading.Thread(target=runner.run)
        thread.start()
        while sandbox.state.current().number < first + 3:
            stop.wait(0.2)
        stop.set()
        thread.join(30)
        assert not thread.is_alive()
        counts = _per_round(sandbox)
        for number in range(first, first + 3):
            for model in MODELS:
                assert counts.get((model, number)) == 1, (model, number, counts)
        assert all(count == 1 for count in counts.values())


def test_two_daemons_on_one_directory(daemon_dir: Workdir, client: NumeraiClient) -> None:
    stop = threading.Event()
    first = _daemon(daemon_dir, client, stop=stop)
    thread = threading.Thread(target=first.run)
    thread.start()
    try:
        while first.started is None:
            stop.wait(0.05)
        with pytest.raises(LockedError, match="running the daemon"):
            _daemon(daemon_dir, client).run(once=True)
    finally:
        stop.set()
        thread.join(30)


def test_invalid_keys_stop_it_after_a_few_passes(
    daemon_dir: Workdir, sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Keys Numerai keeps rejecting stop the daemon (exit 3) after AUTH_RETRIES passes in a
    row: one stray 401 does not stop an autopilot for good."""
    bad = NumeraiClient(Credentials(DEMO_PUBLIC_ID, "wrong" + DEMO_SECRET_KEY), sandbox.url)
    daemon = _daemon(daemon_dir, bad)
    slept: list[float] = []
    daemon._sleep = slept.append  # type: ignore[method-assign]
    with pytest.raises(NumeraiAPIError, match="rejected the API keys") as caught:
        daemon.run()
    assert caught.value.auth and len(slept) == AUTH_RETRIES - 1  # stopped at the third
    assert caplog.text.count("rejected the API keys") == AUTH_RETRIES - 1


def test_one_rejection_after_other_failures_does_not_stop_it(
    daemon_dir: Workdir, client: NumeraiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only key rejections in a row count: three 503 passes and then one stray 401 stopped
    the daemon (exit 3, which systemd does not restart)."""
    daemon = _daemon(daemon_dir, client)
    daemon._sleep = lambda seconds: None  # type: ignore[method-assign]
    unreachable = NumeraiAPIError("HTTP 503", retryable=True)
    errors = iter([unreachable] * 3 + [NumeraiAPIError("HTTP 401", auth=True)] + [unreachable]
                  + [NumeraiAPIError("HTTP 401", auth=True)] * (AUTH_RETRIES - 1))  # fmt: skip

    def failing() -> object:
        error = next(errors, None)
        if error is None:
            daemon.stop.set()
            return PassReport(None, None)
        raise error

    monkeypatch.setattr(daemon, "pass_once", failing)
    daemon.run()  # returns: never three rejections in a row
    assert next(errors, None) is None


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, object]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    _Receiver.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/alert"
    server.shutdown()


def test_missing_models_fail_the_round_alert_and_the_next_round_still_runs(
    daemon_dir: Workdir, client: NumeraiClient, sandbox: SandboxServer, webhook: str,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    manifest = daemon_dir.models / "manifest.json"
    kept = manifest.read_text()
    manifest.unlink()
    runner = _daemon(daemon_dir, client, alerts=Alerts(webhook))
    report = runner.pass_once()
    assert report.failures and "numerpilot train" in report.failures[0]
    assert sandbox.state.submissions == []
    (alert,) = _Receiver.received
    assert alert["event"] == "failed" and alert["round"] == report.round
    assert DEMO_SECRET_KEY not in json.dumps(alert) and DEMO_PUBLIC_ID not in json.dumps(alert)
    failed = [
        Ledger(daemon_dir.state_db).get("classic", i, report.round)
        for i in runner._model_ids.values()
    ]
    assert all(
        r is not None and r.state == "failed" and "train" in str(r.last_error) for r in failed
    )
    with caplog.at_level("INFO", logger="numerpilot.automation"):
        runner.pass_once()  # alerted once; the retry still says why
        _daemon(daemon_dir, client, alerts=Alerts(webhook)).pass_once()  # restarted: no
    assert len(_Receiver.received) == 1  # second alert (daemon --once from cron, systemd)
    assert any("still failing" in r.getMessage() for r in caplog.records)
    manifest.write_text(kept)  # the user retrains; the daemon goes on
    sandbox.clock.advance(timedelta(days=1))
    later = runner.pass_once()
    assert later.round == report.round + 1 and len(later.results) == 2
    assert {a["event"] for a in _Receiver.received} == {"failed", "missed"}


def test_an_upload_refused_the_first_time_is_alerted(
    daemon_dir: Workdir, client: NumeraiClient, sandbox: SandboxServer, webhook: str,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """The failed upload recorded its failure in the ledger before the daemon alerted it,
    and the daemon took that row for an earlier process's alerted failure: no 'failed'
    alert at all, and 'still failing' logged for the first failure."""

    def refused(*args: object, **kwargs: object) -> str:
        raise NumeraiAPIError("Numerai API call 'submission_upload_auth' failed after 3 "
                              "attempts (HTTP 503)", retryable=True)  # fmt: skip

    monkeypatch.setattr(client, "upload_predictions", refused)
    runner = _daemon(daemon_dir, client, alerts=Alerts(webhook))
    with caplog.at_level("INFO", logger="numerpilot.automation"):
        report = runner.pass_once()
    assert len(report.failures) == len(MODELS) and sandbox.state.submissions == []
    failed = [a for a in _Receiver.received if a["event"] == "failed"]
    assert sorted(str(a["model"]) for a in failed) == sorted(MODELS)
    assert not any("still failing" in r.getMessage() for r in caplog.records)
    runner.pass_once()  # the retry fails alike: logged, not alerted again
    _daemon(daemon_dir, client, alerts=Alerts(webhook)).pass_once()  # restarted: no
    assert len([a for a in _Receiver.received if a["event"] == "failed"]) == len(MODELS)


def test_a_round_that_closes_as_the_upload_begins_is_no_failure(
    daemon_dir: Workdir, client: NumeraiClient, sandbox: SandboxServer, webhook: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The daemon reads Numerai's clock to the second: a round closing as it uploaded was
    alerted as failed, with advice for a person ('run numerpilot download ... then submit
    again'), besides the missed alert, and status showed the round failed."""
    import numerpilot.submission.submit as submit
    from numerpilot.submission.round_checks import RoundClosedError

    def closed(client: NumeraiClient, info: object) -> None:
        raise RoundClosedError("Round closed before the upload began; ...")

    monkeypatch.setattr(submit, "check_still_open", closed)
    runner = _daemon(daemon_dir, client, alerts=Alerts(webhook))
    report = runner.pass_once()
    assert report.failures == [] and sandbox.state.submissions == []
    assert not [a for a in _Receiver.received if a["event"] == "failed"]
    rows = [Ledger(daemon_dir.state_db).get("classic", i, report.round)
            for i in runner._model_ids.values()]  # fmt: skip
    assert rows == [None] * len(MODELS)


def test_a_round_that_failed_then_succeeds_says_so(
    daemon_dir: Workdir, client: NumeraiClient, sandbox: SandboxServer, webhook: str
) -> None:
    """A failed alert for a passing fault (4 failed API calls, a model being retrained)
    was the last word the webhook got, though the round was then submitted."""
    manifest = daemon_dir.models / "manifest.json"
    kept = manifest.read_text()
    manifest.unlink()
    runner = _daemon(daemon_dir, client, alerts=Alerts(webhook))
    first = runner.pass_once()
    manifest.write_text(kept)
    again = runner.pass_once()  # the same round
    assert again.round == first.round and len(sandbox.state.submissions) == 2
    recovered = [a for a in _Receiver.received if a["event"] == "recovered"]
    assert sorted(str(a["model"]) for a in recovered) == sorted(MODELS)
    assert all(str(a["message"]).startswith("submitted after all (") for a in recovered)


def test_submissions_numerai_holds_are_recorded_before_anything_is_predicted(
    daemon_dir: Workdir, client: NumeraiClient, sandbox: SandboxServer
) -> None:
    """Numerai holds the round's submissions (an upload whose answer was lost landed in
    this round, say) but the ledger does not: recorded, nothing predicted or sent again."""
    _daemon(daemon_dir, client).run(once=True)
    held = {s.model_name: s.id for s in sandbox.state.submissions}
    daemon_dir.state_db.unlink()
    (daemon_dir.models / "manifest.json").unlink()  # a prediction would fail the pass
    report = _daemon(daemon_dir, client).run(once=True)
    assert report.failures == [] and len(sandbox.state.submissions) == 2
    rows = Ledger(daemon_dir.state_db).history()
    assert {r.model_name: (r.state, r.submission_id) for r in rows} == {
        name: ("submitted", sid) for name, sid in held.items()
    }


def test_a_model_whose_upload_is_unsure_is_not_predicted_for_until_the_wait_ends(
    daemon_dir: Workdir, client: NumeraiClient, sandbox: SandboxServer
) -> None:
    """Every poll of the wait predicted the live era again for it (and warned): it is only
    asked about, and sent again once the wait is over and Numerai still lists nothing."""
    config = daemon_dir.config_path.read_text()
    daemon_dir.config_path.write_text(config.replace("unsure_wait_seconds = 0.5",
                                                     "unsure_wait_seconds = 120"))  # fmt: skip
    ids, number = client.models(), client.current_round().number
    ledger = Ledger(daemon_dir.state_db)
    ledger.claim("classic", MODELS[0], ids[MODELS[0]], number, "sha", "p.csv")
    ledger.mark("classic", MODELS[0], ids[MODELS[0]], number, "uploading",
                error="unsure: create: no answer")  # fmt: skip
    report = _daemon(daemon_dir, client).run(once=True)
    assert [r.model_name for r in report.results] == [MODELS[1]]
    assert [s.model_name for s in sandbox.state.submissions] == [MODELS[1]]
    daemon_dir.config_path.write_text(config)  # the wait is over (0.5 s)
    time.sleep(0.6)
    report = _daemon(daemon_dir, client).run(once=True)
    assert [(r.model_name, r.outcome) for r in report.results] == [(MODELS[0], "uploaded")]
    assert sorted(s.model_name for s in sandbox.state.submissions) == sorted(MODELS)


def test_a_model_run_from_an_uploaded_pickle_is_skipped(
    daemon_dir: Workdir, client: NumeraiClient, sandbox: SandboxServer
) -> None:
    ids = client.models()
    Ledger(daemon_dir.state_db).record_model_upload("classic", MODELS[1], ids[MODELS[1]], "up1")
    report = _daemon(daemon_dir, client).run(once=True)
    outcomes = {r.model_name: r.outcome for r in report.results}
    assert outcomes == {MODELS[0]: "uploaded", MODELS[1]: "skipped"}
    assert [s.model_name for s in sandbox.state.submissions] == [MODELS[0]]


def test_an_account_listing_no_models_is_retried_not_a_config_error(
    daemon_dir: Workdir, client: NumeraiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No model at all is a glitch at Numerai rather than a typo in numerpilot.toml: the
    daemon retries it (exit 1 left it down under systemd, every later round missed)."""
    models = client.models
    monkeypatch.setattr(client, "models", lambda: {})
    with pytest.raises(NumeraiAPIError, match="lists no models") as caught:
        _daemon(daemon_dir, client).run(once=True)
    assert caught.value.retryable and not caught.value.auth
    monkeypatch.setattr(client, "models", models)
    report = _daemon(daemon_dir, client).run(once=True)
    assert report.failures == [] and len(report.results) == len(MODELS)


def test_a_download_of_yours_in_progress_is_waited_for_briefly_then_no_failure(
    daemon_dir: Workdir, client: NumeraiClient, sandbox: SandboxServer,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """The daemon waits at most a poll for another download into its folder (it waited up
    to 30 minutes, deaf to SIGTERM), records no failure and tries again at the next poll."""
    from numerpilot.data.download import DOWNLOAD_LOCK
    from numerpilot.lock import hold

    folder = daemon_dir.root / "data" / "v5.3"
    with (
        hold(folder / DOWNLOAD_LOCK, wait=0, what="downloading"),
        caplog.at_level("INFO", logger="numerpilot.automation.daemon"),
    ):
        started = time.monotonic()
        report = _daemon(daemon_dir, client).run(once=True)
        assert time.monotonic() - started < 20  # poll_seconds 0.5: a short wait
    assert report.failures == [] and sandbox.state.submissions == []
    assert "is downloading in" in caplog.text and "Trying again at the next poll." in caplog.text
    assert Ledger(daemon_dir.state_db).history() == []
    again = _daemon(daemon_dir, client).run(once=True)
    assert again.failures == [] and len(sandbox.state.submissions) == len(MODELS)


def test_unreachable_api_is_retried_with_backoff_not_a_crash(
    daemon_dir: Workdir, creds: Credentials, caplog: pytest.LogCaptureFixture
) -> None:
    dead = NumeraiClient(creds, "http://127.0.0.1:9/", timeout=0.2, retries=0, backoff=0.0)
    stop = threading.Event()
    runner = _daemon(daemon_dir, dead, stop=stop)
    runner.settings.poll_seconds = 0.05
    thread = threading.Thread(target=runner.run)
    with caplog.at_level("WARNING", logger="numerpilot.automation.daemon"):
        thread.start()
        stop.wait(1.5)
        assert thread.is_alive()  # still trying, no crash loop
        stop.set()
        thread.join(10)
    warnings = [r for r in caplog.records if "API failed (" in r.getMessage()]
    assert 2 <= len(warnings) <= 9  # 0.1, 0.2, 0.2 s...: backing off, not spinning
    # doubling from a poll to at most four: a round's hour is not slept through after an
    # outage (the waits went up to max_sleep_seconds, 15 minutes by default)
    waits = [backoff_seconds(runner.settings, k) for k in range(1, 6)]
    assert waits == pytest.approx([0.1, 0.2, 0.2, 0.2, 0.2])


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_a_signal_stops_the_daemon_cleanly(
    daemon_dir: Workdir, sandbox: SandboxServer, tmp_path: Path, signum: int, code: int
) -> None:
    """SIGTERM: a service stopped (exit 0); Ctrl-C: 'Interrupted.' and 130, as any command."""
    env = {**os.environ, "NUMERPILOT_API_URL": sandbox.url, "NUMERAI_PUBLIC_ID": DEMO_PUBLIC_ID,
           "NUMERAI_SECRET_KEY": DEMO_SECRET_KEY}  # fmt: skip
    log = tmp_path / "daemon.log"
    cmd = [sys.executable, "-m", "numerpilot", "daemon", "--log-json", "-C", str(daemon_dir.root)]
    with log.open("wb") as sink:
        # as from a terminal: a SIGINT ignored by this test's parent (a background job, some
        # CI runners) would stay ignored in the daemon, as it should
        proc = subprocess.Popen(cmd, env=env, stdout=sink, stderr=sink, preexec_fn=_default_sigint)
        try:
            deadline = time.monotonic() + 60
            while len(sandbox.state.submissions) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            while b"nothing more to do" not in log.read_bytes() and time.monotonic() < deadline:
                time.sleep(0.1)  # done with the round: it says when it looks again
            proc.send_signal(signum)
            assert proc.wait(timeout=30) == code
        finally:
            proc.kill()
    lines = [json.loads(line) for line in log.read_text().splitlines()]  # the last one too
    if signum == signal.SIGINT:
        assert lines.pop()["message"] == "Interrupted."
    assert lines[-1]["message"] == "daemon stopped"
    submitted = [x for x in lines if x.get("outcome") == "uploaded"]
    assert {x["model"] for x in submitted} == set(MODELS)
    (idle,) = [x for x in lines if "nothing more to do" in x["message"]]
    assert idle["message"].startswith(f"round {submitted[0]['round']}: nothing more to do; "
                                      "looking again at ")  # fmt: skip
    assert idle["round"] == submitted[0]["round"]
    assert all({"time", "level", "message"} <= set(x) for x in lines)


def test_daemon_command_with_rejected_keys_exits_3_and_alerts(
    daemon_dir: Workdir, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], webhook: str,
) -> None:  # fmt: skip
    """The error that stops the daemon also goes to the webhook: under systemd's
    RestartPreventExitStatus it stays down, and every later round would be missed unseen."""
    monkeypatch.setenv("NUMERPILOT_API_URL", sandbox.url)
    monkeypatch.setenv("NUMERAI_PUBLIC_ID", DEMO_PUBLIC_ID)
    monkeypatch.setenv("NUMERAI_SECRET_KEY", "not-the-key")
    config = daemon_dir.config_path.read_text()
    daemon_dir.config_path.write_text(
        config.replace("[daemon]\n", f'[daemon]\nalert_webhook = "{webhook}"\n')
    )
    from numerpilot.cli.commands import run

    with pytest.raises(SystemExit) as done:
        run(["daemon", "--once", "-C", str(daemon_dir.root)])
    err = capsys.readouterr().err
    assert done.value.code == 3
    assert "rejected the API keys" in err and "NUMERAI_SECRET_KEY" in err
    assert "Traceback" not in err and "not-the-key" not in err
    (alert,) = _Receiver.received
    assert alert["event"] == "error" and alert["round"] is None
    assert str(alert["message"]).startswith("this pass failed (daemon --once): Numerai API")
    assert "not-the-key" not in json.dumps(alert)
    with pytest.raises(SystemExit) as done:  # --log-json: the last word is a JSON line too
        run(["daemon", "--once", "--log-json", "-C", str(daemon_dir.root)])
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert done.value.code == 3 and lines[-1]["level"] == "error"
    assert "rejected the API keys" in lines[-1]["message"]
    assert lines[-1]["event"] == "error" and not lines[-1]["message"].startswith("Error:")


def test_a_full_disk_during_the_live_download_fails_the_pass_and_the_next_one_submits(
    daemon_dir: Workdir, client: NumeraiClient, sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from tests.support.fs import disk_full

    last_round = client.current_round().number
    sandbox.clock.advance(timedelta(days=1))  # a new round: a new live file to download
    version = daemon_dir.root / "data" / "v5.3"
    live = (version / "live.parquet").read_bytes()
    runner = _daemon(daemon_dir, client)
    with monkeypatch.context() as disk:
        disk_full(disk, version)
        report = runner.pass_once()
    assert report.failures and "The disk is full" in report.failures[0]
    assert sandbox.state.submissions == []
    assert not (version / "live.parquet").exists()  # no half file, no stale one in its place
    assert (version / f"live_round{last_round}.parquet").read_bytes() == live  # kept whole
    assert not any(p.name.endswith(".tmp") for p in version.iterdir())
    later = runner.pass_once()  # the next poll, with room again
    assert len(later.results) == 2 and len(sandbox.state.submissions) == 2


def test_sunday_morning_before_saturdays_round_closes_is_not_polled_through(
    daemon_dir: Workdir, client: NumeraiClient, sandbox: SandboxServer
) -> None:
    """Saturday's round takes submissions until Sunday 20:00: on Sunday from 12:00 (a
    weekday's gap after Saturday's open) the daemon polled every minute until 15:00. The
    round history shows Tuesday's round a week after the one after last Saturday's."""
    sandbox.clock.set(datetime(2025, 1, 12, 12, 30, tzinfo=UTC))  # Sunday, Saturday's open
    report = _daemon(daemon_dir, client).pass_once()
    assert len(report.results) == 2
    assert report.wake == datetime(2025, 1, 14, 12, tzinfo=UTC)  # Tuesday's open (lead 0)


def test_the_unsure_wait_is_on_the_server_clock(
    daemon_dir: Workdir, sandbox_data: Path, creds: Credentials
) -> None:
    """Against a sandbox an hour per second, an unsure upload waited 120 real seconds
    (five of its days: rounds closed meanwhile); it waits 120 of the server's seconds."""
    from numerpilot.sandbox.presets import OPEN_TUESDAY

    config = daemon_dir.config_path.read_text()
    daemon_dir.config_path.write_text(config.replace("unsure_wait_seconds = 0.5",
                                                     "unsure_wait_seconds = 120"))  # fmt: skip
    with SandboxServer(sandbox_data, spec=SMALL_SPEC, start=OPEN_TUESDAY, speed=3600) as fast:
        client = NumeraiClient(creds, fast.url, timeout=2.0, retries=3, backoff=0.01)
        ids, number = client.models(), client.current_round().number
        ledger = Ledger(daemon_dir.state_db)
        ledger.claim("classic", MODELS[0], ids[MODELS[0]], number, "sha", "p.csv")
        ledger.mark("classic", MODELS[0], ids[MODELS[0]], number, "uploading",
                    error="unsure: create: no answer")  # fmt: skip
        runner = _daemon(daemon_dir, client)
        assert runner.retrainer.measure_clock()  # a second here: hours there
        report = runner.pass_once()
        assert report.round == number and report.failures == []
        assert sorted(s.model_name for s in fast.state.submissions) == sorted(MODELS)


def test_rounds_the_server_clock_jumped_over_are_not_alerted_as_missed(
    daemon_dir: Workdir, client: NumeraiClient, sandbox: SandboxServer,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """A sandbox restarted two days later: Wednesday's round opened and closed unseen;
    that is no miss of the user's, and the log says the clock jumped."""
    runner = _daemon(daemon_dir, client)
    first = runner.pass_once()  # Tuesday's round
    assert runner.retrainer.measure_clock()  # a daemon running for a while: the rate is known
    sandbox.clock.advance(timedelta(days=2))
    with caplog.at_level("INFO", logger="numerpilot.automation"):
        later = runner.pass_once()
    assert later.round == first.round + 2 and len(later.results) == 2
    said = [r.getMessage() for r in caplog.records]
    assert not [m for m in said if m.startswith("alert (")]
    assert len([m for m in said if m.startswith("the server's clock jumped from Tue")]) == 1
    wednesday = [m for m in said if f"round {first.round + 1} closed without" in m]
    assert len(wednesday) == 2 and all(
        "server's clock, which jumped (no alert)" in m for m in wednesday
    )
