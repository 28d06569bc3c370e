"""``numerpilot daemon``: every round, for every model, exactly once, through crashes and faults.

Each pass reads the rounds from the API (their times, and "now" from the server's clock),
and while a round takes submissions it makes sure ``live.parquet`` is that round's,
predicts, checks and submits for each configured model the ledger does not hold as
submitted; the exactly-once protocol (:mod:`numerpilot.submission.once`) makes a crash at
any point harmless. Between rounds it sleeps until shortly before the next round is
expected, then polls. One daemon per work directory (a lock); SIGTERM, SIGHUP and SIGINT
stop it after the current step.
"""

from __future__ import annotations

import contextlib
import logging
import random
import signal
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from numerpilot.api.client import NumeraiClient
from numerpilot.api.errors import NumeraiAPIError
from numerpilot.api.rounds import RoundInfo
from numerpilot.automation.alerts import Alert, Alerts
from numerpilot.automation.clock import (
    ClockJumps,
    ServerClock,
    backoff_seconds,
    expected_next_open,
    next_look,
)
from numerpilot.automation.retraining import Retrainer
from numerpilot.automation.round_alerts import DONE, RoundAlerts
from numerpilot.automation.round_memory import RoundMemory, Stamp, stamp
from numerpilot.automation.signal_wait import SignalWait, check_signal_source
from numerpilot.automation.status import target_note, weighted_target
from numerpilot.automation.stoppable import stop_signals
from numerpilot.config import Config
from numerpilot.errors import (
    NumerpilotError,
    SubmissionError,
    failure_line,
)
from numerpilot.lock import LockedError, hold
from numerpilot.submission.ledger import Ledger
from numerpilot.submission.once import SubmitResult, still_unsure
from numerpilot.submission.round_checks import SignalFileNotReadyError
from numerpilot.workdir import Workdir

log = logging.getLogger(__name__)

DAEMON_LOCK = "daemon.lock"
#: Passes in a row whose keys Numerai rejected before the daemon gives up (exit 3): one
#: stray 401 (a proxy, a deploy at Numerai) is no reason to stop an autopilot for good.
AUTH_RETRIES = 3
#: Seconds a pass waits for another process's download into the same folder (at most a
#: poll): SIGTERM is heard between passes, not inside the wait.
LOCK_WAIT = 10.0
#: Rounds read per pass: the current one and enough history to see the schedule's rhythm
#: (two of Numerai's weeks of five rounds, and one more: its week shows as a period).
_HISTORY = 11


@dataclass
class PassReport:
    """What one pass did and when the next one is due (server time)."""

    round: int | None
    wake: datetime | None
    results: list[SubmitResult] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    #: When the open round closes, if a retrain may start then (before ``wake``): the
    #: daemon looks again at that time, else one sleep could span the whole gap.
    closes: datetime | None = None

    @property
    def look(self) -> datetime | None:
        """When to look again: the round's close (to retrain) or ``wake``."""
        if self.wake is None or self.closes is None:
            return self.wake
        return min(self.wake, self.closes)


class Daemon:
    """The round loop of one work directory."""

    def __init__(
        self,
        workdir: Workdir,
        config: Config,
        client: NumeraiClient,
        *,
        alerts: Alerts | None = None,
        stop: threading.Event | None = None,
        seed: int | None = None,
    ) -> None:
        self.workdir, self.config, self.client = workdir, config, client
        self.settings = config.daemon
        check_signal_source(workdir, config)
        self.alerts = alerts or Alerts(config.daemon.alert_webhook)
        self.stop = stop or threading.Event()
        #: The signal that stopped the daemon, if one did (SIGINT: exit code 130).
        self.stopped_by: int | None = None
        self.clock = ServerClock()
        self.ledger = Ledger(workdir.state_db)
        self.started: datetime | None = None
        self._rng = random.Random(seed)
        self._model_ids: dict[str, str] = {}
        self._due: tuple[int, tuple[str, ...]] | None = None  # the round and models last said due
        self.retrainer = Retrainer(workdir, config, client, self.clock, self.stop, self.alerts)
        self._jumps = ClockJumps()
        self._memory = RoundMemory()
        self._said: tuple[int, str, Stamp] | None = None  # the file last said ready, and when
        self._signal = SignalWait()
        self._target_told = 0  # the round whose target was last compared with the models'
        self._round_alerts = RoundAlerts(config.submission, self.ledger, self.alerts,
                                         self._memory, self._jumps)  # fmt: skip

    # -- the loop --------------------------------------------------------------------------
    def run(self, *, once: bool = False) -> PassReport:
        """Pass after pass until stopped (``once``: a single pass). Holds the daemon lock."""
        with hold(self.workdir.root / DAEMON_LOCK, wait=0, what="running the daemon"):
            log.info("daemon started in %s for %s", self.workdir.root,
                     ", ".join(self.config.submission.models) or "no models")  # fmt: skip
            failures, rejected, told = 0, 0, None  # passes failed in a row; of them, key rejections
            report = PassReport(None, None)
            while not self.stop.is_set():
                try:
                    report = self.pass_once()
                    failures = rejected = 0
                except NumeraiAPIError as error:
                    failures += 1
                    rejected = rejected + 1 if error.auth else 0
                    if once or rejected >= AUTH_RETRIES:
                        raise
                    log.warning("%s Trying again." if error.auth else "Numerai's API failed "
                                "(%s); trying again.", error)  # fmt: skip
                    self._sleep(backoff_seconds(self.settings, failures))
                    continue
                plan = (report.round, "done" if once else self._next_look(report))
                if report.wake is not None and plan != told:  # once per round and plan
                    told = plan  # as said: an overdue round's wake moves, the words do not
                    log.info("round %s: nothing more to do; %s", *plan,
                             extra={"round": report.round})  # fmt: skip
                if once:
                    break
                self._sleep(self._sleep_seconds(report.look))
            log.info("daemon stopped")
            return report

    def pass_once(self) -> PassReport:
        """Look at the rounds; submit what is due; say when to look again."""
        from numerpilot.submission.submit import settle_uploading

        rounds = self.client.rounds(limit=_HISTORY)
        rate = self.clock.rate if self.clock.measured else None  # before this look
        self.clock.observe(self.client.api.server_time, self.client.api.received_at)
        now = self.clock.now()
        self.started = self.started or now
        self._jumps.note(now, rate)
        current = rounds[0]
        settle_uploading(self.workdir, self.ledger, self.client, self.config, rounds, now)
        self._round_alerts.missed(rounds[1:], now, self.started, self._ids)
        report = PassReport(current.number, None)
        if current.is_open and self._pending(current):
            self._play(current, report)
        if current.is_open and self._pending(current):
            return report  # wake None: poll again soon
        lead = timedelta(seconds=self.settings.lead_seconds)
        report.wake = expected_next_open(rounds, now) - lead
        if self.settings.retrain == "never":
            return report
        if not current.is_open:
            self._maybe_retrain(current, report)
        elif current.close_time < report.wake:  # look again when the gap begins
            report.closes = current.close_time
        return report

    # -- one round -------------------------------------------------------------------------
    def _ids(self) -> dict[str, str]:
        """The account's model ids; a configured name the account lacks stops the daemon
        (it could never submit, and would predict again every poll)."""
        from numerpilot.submission.submit import elsewhere

        names = self.config.submission.models
        if not self._model_ids or set(names) - set(self._model_ids):
            self._model_ids = self.client.models()
        unknown = [n for n in names if n not in self._model_ids]
        if unknown and not self._model_ids:  # no model at all: a glitch rather than a typo
            raise NumeraiAPIError(
                "Numerai lists no models for these API keys' account (for now?): "
                f"{', '.join(unknown)} cannot be submitted",
                retryable=True,
            )
        if unknown:
            raise SubmissionError(
                f"[submission] models names {', '.join(unknown)}, which these API keys' "
                f"account lacks (it has: {', '.join(sorted(self._model_ids)) or 'no models'}); "
                f"fix {self.workdir.config_path}." + elsewhere(self.client, unknown)
            )
        return self._model_ids

    def _pending(self, current: RoundInfo) -> list[str]:
        """Configured models without a submission (or a skip) in the round's ledger row."""
        tournament = self.config.submission.tournament
        ids = self._ids()
        pending = []
        for name in self.config.submission.models:
            row = self.ledger.get(tournament, ids.get(name, ""), current.number)
            if row is None or row.state not in DONE:
                pending.append(name)
        return pending

    def _not_on_numerai(self, current: RoundInfo, pending: list[str]) -> list[str]:
        """The ``pending`` models Numerai holds no submission of in the round; the others
        are recorded as submitted (an upload whose answer was lost, filed under this round
        as the last one closed), before anything is predicted or checked again."""
        from numerpilot.submission.once import on_numerai

        tournament, ids, left = self.config.submission.tournament, self._ids(), []
        for name in pending:
            found = on_numerai(self.client, ids[name], current)
            if found is None:
                left.append(name)
                continue
            self.ledger.mark(tournament, name, ids[name], current.number, "submitted",
                             submission_id=found.id, late=current.is_late)  # fmt: skip
            log.info("%s: Numerai holds submission %s for round %d; recorded", name, found.id,
                     current.number, extra={"round": current.number, "model": name})  # fmt: skip
        return left

    def _predict(self, current: RoundInfo) -> Path:
        """The round's live predictions: predicted once per round, live file and models
        (again only when one of them changed, or the predictions file did)."""
        from numerpilot.data import layout
        from numerpilot.modeling.manifest import MANIFEST
        from numerpilot.pipeline.context import Context
        from numerpilot.pipeline.predict import predict_live

        ctx = Context.load(self.workdir)
        sources = [ctx.data_dir / layout.LIVE, self.workdir.models / MANIFEST,
                   self.workdir.config_path]  # fmt: skip
        return self._memory.predictions(current.number, sources, self.workdir.live_predictions,
                                        lambda: predict_live(ctx))  # fmt: skip

    def _play(self, current: RoundInfo, report: PassReport) -> None:
        """Submit the round's live file for every model due in it, one model at a time."""
        pending = self._due_now(current)
        path = self._live_file(current, report) if pending else None
        if path is None:
            return
        self._note_target(current)
        tournament, ids = self.config.submission.tournament, self._ids()
        failed = {name for name in pending if (row := self.ledger.get(tournament, ids[name],
                  current.number)) is not None and row.state == "failed"}  # fmt: skip
        for name in pending:
            if self.stop.is_set() or self._closed(current):
                return
            self._submit(current, name, path, report, recovering=name in failed)

    def _note_target(self, current: RoundInfo) -> None:
        """Say once per round when it is scored on another target than the models in use
        were weighted against (``status`` says the same)."""
        if self._target_told == current.number:
            return
        self._target_told = current.number
        main, alias = weighted_target(self.workdir, self.config)
        note = target_note(current, main, alias=alias)
        if note:
            log.warning("%s", note, extra={"round": current.number})

    def _due_now(self, current: RoundInfo) -> list[str]:
        """The models to submit now: not on Numerai yet, nor waiting for an unsure upload to
        be listed. Said once per round and set of models, not every poll."""
        due = self._not_on_numerai(current, self._pending(current))
        if not due:
            return []
        waiting = still_unsure(self.ledger, self.config.submission, self._ids(), current, due,
                               clock_rate=self.clock.rate)  # on the server's clock  # fmt: skip
        pending = [name for name in due if name not in waiting]
        late = " (late: staking closed)" if current.is_late else ""
        said, self._due = self._due, (current.number, (*pending, "|", *waiting))
        unsure = f"; waiting: {', '.join(waiting)} (an upload not listed yet)" if waiting else ""
        log.log(logging.INFO if said != self._due else logging.DEBUG,
                "round %d takes submissions%s; due: %s%s", current.number, late,
                ", ".join(pending) or "none", unsure, extra={"round": current.number})  # fmt: skip
        return pending

    def _live_file(self, current: RoundInfo, report: PassReport) -> Path | None:
        """The file to submit: the configured signal file, checked, or the live era
        predicted; None when another download holds the data or it failed (alerted)."""
        from numerpilot.data.download import download_dataset
        from numerpilot.submission.round_checks import check_not_stale

        own = self.config.submission.signal_file
        wait = min(self.settings.poll_seconds, LOCK_WAIT)  # a stop is not held up longer
        try:
            folder = download_dataset(self.workdir, self.config, self.client, info=current,
                                      live_only=bool(own), lock_wait=wait)  # fmt: skip
            if own:  # a signal computed elsewhere: checked and submitted as it is
                path = self.workdir.root / own
                check_not_stale(self.ledger, self.config.submission.tournament, path, current,
                                folder, now=self.clock.now(), rate=self.clock.rate)  # fmt: skip
            else:
                path = self._predict(current)
        except LockedError as error:  # another download (yours): it is no failure
            log.info("round %d: %s Trying again at the next poll.", current.number, error)
            return None
        except SignalFileNotReadyError as error:  # your job runs after the open: not yet a failure
            if not self._signal.waiting(current, error, self.clock.now()):
                self._fail(current, None, failure_line(error), report)
            return None
        except (NumerpilotError, OSError, MemoryError) as error:  # alerted, tried again
            self._fail(current, None, failure_line(error), report)
            return None
        done = f"checked {own}" if own else "predicted the live era"
        said, self._said = self._said, (current.number, done, stamp(path))
        log.log(logging.INFO if said != self._said else logging.DEBUG, "%s of round %d", done,
                current.number, extra={"round": current.number})  # fmt: skip
        return path

    def _submit(
        self, current: RoundInfo, name: str, path: Path, report: PassReport, *, recovering: bool
    ) -> None:
        """Submit ``path`` for one model; a failure is alerted, and a success after an alerted
        failure (``recovering``) is alerted as recovered."""
        from numerpilot.submission.round_checks import RoundClosedError
        from numerpilot.submission.submit import submit_predictions

        refused = self._memory.refusal(current.number, name, path)
        if refused is not None:  # the same file again: the same answer
            self._fail(current, name, refused, report)
            return
        model_id = self._ids()[name]
        before = self._round_alerts.row(current.number, model_id)  # before this attempt
        try:
            now = replace(current, now=self.clock.now())
            (result,) = submit_predictions(self.workdir, self.config, self.client, path,
                                           models=[name], info=now,
                                           clock_rate=self.clock.rate)  # fmt: skip
        except (NumerpilotError, OSError) as error:
            if isinstance(error, RoundClosedError) or self._closed(current):
                # closed as the upload began (Numerai's clock is read to the second): the
                # next round is the daemon's own business, no failure
                log.info("round %d closed before %s was uploaded", current.number, name)
                return
            report.failures.append(self._round_alerts.refused(
                current, name, model_id, path, error, before, self._model_ids))  # fmt: skip
            return
        report.results.append(result)
        if result.outcome == "uncertain":  # the next poll asks Numerai and settles it
            report.failures.append(f"{name}: {result.detail}")
            log.warning("%s: %s", name, result.detail)
        fields = {"round": result.round, "model": name, "outcome": result.outcome,
                  "submission_id": result.submission_id}  # fmt: skip
        note = f" ({result.note})" if result.note else ""  # Signals: the churn figures
        log.info("%s: %s in round %d%s", name, result.outcome.replace("_", " "), result.round,
                 note, extra=fields)  # fmt: skip
        if result.round != current.number:  # filed under the next round: this one failed
            self._fail(current, name, f"{name}: {result.detail}", report)
        elif result.outcome == "uploaded" and recovering:  # the alert was not the end
            done = f"submitted after all ({result.submission_id})"
            tournament = self.config.submission.tournament
            self.alerts.send(Alert("recovered", tournament, current.number, name, done))

    def _closed(self, current: RoundInfo) -> bool:
        """True once the round stopped taking submissions (on the server's clock)."""
        return self.clock.now() >= current.close_time

    def _fail(
        self, current: RoundInfo, model: str | None, message: str, report: PassReport
    ) -> None:
        report.failures.append(message)
        self._round_alerts.fail(current, model, message, self._model_ids)

    # -- retraining, never inside a round's window ------------------------------------------
    def _maybe_retrain(self, current: RoundInfo, report: PassReport) -> None:
        """Retrain between rounds if due (:class:`Retrainer`); its failures join the pass's."""
        report.failures.extend(self.retrainer.maybe(current, report.wake))

    # -- sleeping --------------------------------------------------------------------------
    def _next_look(self, report: PassReport) -> str:
        """When the daemon looks again (:func:`next_look`); "due" without a wake."""
        if report.wake is None:
            return "due"
        return next_look(report.wake, report.closes, self.clock.now())

    def _sleep_seconds(self, wake: datetime | None) -> float:
        """Real seconds to sleep: until ``wake`` (server time), or one poll with jitter (never
        past max_sleep_seconds); one poll at most until the server clock's rate is known
        (it may run fast)."""
        jittered = self.settings.poll_seconds * self._rng.uniform(0.8, 1.2)
        poll = min(jittered, self.settings.max_sleep_seconds)  # never past the stated most
        seconds = self.clock.real_seconds(wake) if wake is not None else 0.0
        longest = self.settings.max_sleep_seconds if self.clock.measured else poll
        return poll if seconds <= 0 else min(seconds, longest)

    def _sleep(self, seconds: float) -> None:
        log.debug("sleeping %.1f s", seconds, extra={"sleep_seconds": round(seconds, 1)})
        self.stop.wait(seconds)

    # -- signals ---------------------------------------------------------------------------
    def signal_handlers(self) -> contextlib.AbstractContextManager[None]:
        """SIGTERM, SIGHUP and SIGINT stop after the current step (a retrain is not one: it
        stops at once and is discarded); a second SIGINT interrupts at once."""
        return stop_signals(self._stop_by, self.stop)

    def _stop_by(self, signum: int) -> None:
        log.info("%s received: stopping after the current step", signal.Signals(signum).name)
        self.stopped_by = signum
        self.stop.set()
        self.retrainer.running.stop("the daemon is stopping")  # a retrain is not a step
