"""The daemon's failures and missed rounds: each alerted once, and recorded in the ledger.

A failure is alerted once per round, model and message, also across restarts (the ledger
holds the failure an earlier process alerted); the retries that fail the same way are
logged, not alerted again. A round that closed while the daemon ran, without a submission
of a configured model, is alerted as missed, unless the server's clock jumped over it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from numerpilot.api.rounds import RoundInfo
from numerpilot.automation.alerts import Alert, Alerts
from numerpilot.automation.clock import ClockJumps
from numerpilot.automation.round_memory import RoundMemory
from numerpilot.config import SubmissionConfig
from numerpilot.errors import RemoteError, SubmissionError, failure_line
from numerpilot.submission.ledger import Ledger, LedgerRow

log = logging.getLogger(__name__)

#: Ledger states that count as done for a round: nothing is due, nothing was missed.
DONE = ("submitted", "skipped")


class RoundAlerts:
    """Alerts a daemon's failures and misses for the models of ``submission``."""

    def __init__(
        self,
        submission: SubmissionConfig,
        ledger: Ledger,
        alerts: Alerts,
        memory: RoundMemory,
        jumps: ClockJumps,
    ) -> None:
        self.submission, self.ledger, self.alerts = submission, ledger, alerts
        self.memory, self.jumps = memory, jumps

    def fail(
        self, current: RoundInfo, model: str | None, message: str, ids: dict[str, str],
        *, fresh: bool = False,
    ) -> None:  # fmt: skip
        """Alert a failure of ``model`` (None: of every model) in ``current`` once; record
        it in the ledger where nothing was uploaded, so that ``status`` says why.

        ``ids``: the model ids known so far (a failure to list them is a failure too).
        ``fresh``: the ledger held no such failure before this attempt (which may have
        recorded it itself), so no earlier process alerted it."""
        tournament = self.submission.tournament
        alert = Alert("failed", tournament, current.number, model, message)
        names = [model] if model else self.submission.models
        rows = [self.ledger.get(tournament, ids.get(n, ""), current.number) for n in names]
        if not fresh and all(
            r is not None and r.state == "failed" and r.last_error == message for r in rows
        ):
            self.alerts.mark_sent(alert)  # an earlier process recorded (and alerted) it
        if self.alerts.sent(alert):  # alerted once; the retries still say why they fail
            log.info("round %d: still failing: %s", current.number, message)
        self.alerts.send(alert)
        for name, row in zip(names, rows, strict=True):
            model_id = ids.get(name)
            if model_id and row is None:
                # refused before any upload (Signals churn, a bad file): 'status' says failed
                # and why, not missed; a row left 'uploading' is never overwritten
                self.ledger.mark(tournament, name, model_id, current.number, "failed",
                                 error=message)  # fmt: skip

    def row(self, number: int, model_id: str) -> LedgerRow | None:
        """The ledger's row of ``model_id`` in round ``number``."""
        return self.ledger.get(self.submission.tournament, model_id, number)

    def refused(
        self, current: RoundInfo, name: str, model_id: str, path: Path, error: Exception,
        before: LedgerRow | None, ids: dict[str, str],
    ) -> str:  # fmt: skip
        """Alert (once) a submission of ``path`` that failed with ``error``; its message.
        ``before``: the model's ledger row before this attempt, which may have recorded the
        failure itself: then no earlier process alerted it."""
        self.remember_refusal(current, name, model_id, path, error)
        message = failure_line(error)
        fresh = before is None or (before.state, before.last_error) != ("failed", message)
        self.fail(current, name, message, ids, fresh=fresh)
        return message

    def remember_refusal(
        self, current: RoundInfo, name: str, model_id: str, path: Path, error: Exception
    ) -> None:
        """Remember a refusal of ``path`` before anything was sent (a Signals churn over
        the limit, a bad file): checking the same file again in the round says the same."""
        message = failure_line(error)
        row = self.ledger.get(self.submission.tournament, model_id, current.number)
        unsent = row is None or (row.state == "failed" and row.last_error == message)
        if isinstance(error, SubmissionError) and not isinstance(error, RemoteError) and unsent:
            self.memory.refuse(current.number, name, path, message)

    def missed(
        self,
        closed: list[RoundInfo],
        now: datetime,
        started: datetime | None,
        ids: Callable[[], dict[str, str]],
    ) -> None:
        """Alert once for each round that closed between ``started`` and ``now`` without a
        submission of a configured model (a round the server's clock jumped over is logged
        once instead: it was never seen open). ``ids`` is asked only when one closed."""
        if started is None:
            return
        tournament = self.submission.tournament
        for info in closed:
            if not (started < info.close_time <= now):
                continue
            for name in self.submission.models:
                row = self.ledger.get(tournament, ids().get(name, ""), info.number)
                if row is not None and row.state in DONE:
                    continue
                message = f"round {info.number} closed without a submission of {name}"
                if not self.jumps.excused(info, name, message):
                    self.alerts.send(Alert("missed", tournament, info.number, name, message))
