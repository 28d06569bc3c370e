"""Exactly-once upload of one model's predictions in one round.

Under the work directory's submit lock: first ask Numerai which rounds the model already
has a submission for (this also settles a row left ``uploading`` by a crash or a lost
answer), then mark the row ``uploading``, upload, and record the outcome. A lost answer
to the create mutation is never resent blindly: it is reconciled now, and if Numerai does
not list the submission yet the row stays ``uploading`` for the next attempt to settle.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from numerpilot.api.client import NumeraiClient, SubmissionInfo
from numerpilot.api.errors import NumeraiAPIError
from numerpilot.api.http import UNSURE_TAIL
from numerpilot.api.rounds import RoundInfo
from numerpilot.config import SubmissionConfig
from numerpilot.errors import RemoteError, SubmissionError
from numerpilot.submission.ledger import Ledger, LedgerRow
from numerpilot.words import span

log = logging.getLogger(__name__)

Outcome = Literal["uploaded", "already_done", "reconciled", "skipped", "uncertain", "dry_run"]
_PICKLE_WORDS = ("pickle", "model upload")
#: How the ledger marks such an upload (its row stays ``uploading``).
_UNSURE = "unsure: "
#: A row's error while Numerai is asked to create the submission (kept if the process dies).
_ASKED = _UNSURE + "the process ended while Numerai was asked to create the submission"


@dataclass(frozen=True)
class SubmitResult:
    """What happened to one model in one round."""

    model_name: str
    model_id: str
    round: int
    outcome: Outcome
    submission_id: str | None = None
    late: bool = False
    path: str = ""
    detail: str = ""
    #: what else the user should see (Signals: the churn and turnover figures)
    note: str = ""
    #: seconds an unsure upload is not sent again while Numerai does not list it
    unsure_wait: float = 0.0


@dataclass(frozen=True)
class Target:
    """Who and what is submitted: the model, the round, the file and its SHA-256."""

    tournament: str
    model_name: str
    model_id: str
    round: RoundInfo
    path: Path
    sha256: str
    #: The user's file when ``path`` is the copy kept of it (Signals and Crypto).
    source: Path | None = None

    def result(self, outcome: Outcome, sid: str | None = None, detail: str = "") -> SubmitResult:
        return SubmitResult(self.model_name, self.model_id, self.round.number, outcome, sid,
                            self.round.is_late, str(self.path), detail)  # fmt: skip


def on_numerai(client: NumeraiClient, model_id: str, info: RoundInfo) -> SubmissionInfo | None:
    """The model's submission for the round as Numerai lists it, if any."""
    return in_round(client.submissions(model_id), info)


def in_round(
    listing: list[SubmissionInfo], info: RoundInfo, *, besides: frozenset[str] = frozenset()
) -> SubmissionInfo | None:
    """The last submission of ``listing`` in the round, leaving out the ids ``besides``."""
    found = None
    for sub in listing:
        inside = sub.round == info.number or (
            sub.round is None
            and sub.inserted_at is not None
            and info.open_time <= sub.inserted_at < info.close_time
        )
        if inside and sub.id not in besides:
            found = sub
    return found


def submit_once(
    ledger: Ledger,
    client: NumeraiClient,
    t: Target,
    *,
    force: bool,
    unsure_wait: float,
    clock_rate: float = 1.0,
) -> SubmitResult:
    """Upload ``t.path`` for the model unless Numerai already has its submission for the
    round (``force`` uploads again), or an upload whose outcome stayed unsure was made less
    than ``unsure_wait`` seconds ago on Numerai's clock, which runs ``clock_rate`` times as
    fast as this machine's (a sandbox's may). Call with the work directory's submit lock
    held."""
    args = (t.tournament, t.model_name, t.model_id, t.round.number)
    if ledger.model_upload(t.tournament, t.model_id):
        ledger.mark(*args, "skipped", error="runs from an uploaded pickle")
        return t.result("skipped", detail="Numerai runs this model from an uploaded pickle")
    row = ledger.get(t.tournament, t.model_id, t.round.number)
    listing = client.submissions(t.model_id)
    existing = in_round(listing, t.round)
    if existing is not None and not force and not _forced_unsure(row, existing, t):
        if row is None or row.state != "submitted" or row.submission_id != existing.id:
            ledger.mark(*args, "submitted", submission_id=existing.id, late=t.round.is_late)
            return t.result("reconciled", existing.id)
        return t.result("already_done", existing.id)
    if row is not None and row.state == "submitted" and existing is None and not force:
        # Numerai confirmed it (its id is recorded): a listing that lags is no reason to
        # upload twice
        return t.result("already_done", row.submission_id, detail="Numerai does not list it yet")
    if row is not None and not force and (age := unsure_for(row)) is not None:
        if still_waiting(age, unsure_wait, clock_rate, t.round):
            return t.result("uncertain", detail=_waiting(age, unsure_wait, clock_rate))
        log.info("%s: the unsure upload of %s ago is still not listed: sending it again",
                 t.model_name, _on_clock(age, clock_rate))  # fmt: skip
    if t.round.is_late:  # said only when something is sent
        log.warning("%s: round %d: staking closed at %s UTC; this submission is scored but "
                    "not staked (late)", t.model_name, t.round.number,
                    f"{t.round.close_staking_time:%H:%M}")  # fmt: skip
    ledger.claim(*args, t.sha256, str(t.path))
    seen = frozenset(sub.id for sub in listing)  # only a new one can be this upload
    try:
        # a process that dies once Numerai is asked to create it leaves the upload unsure
        sid = client.upload_predictions(
            t.path, t.model_id, lambda: ledger.mark(*args, "uploading", error=_ASKED)
        )
    except NumeraiAPIError as error:
        if not error.uncertain:
            return _refused(ledger, client, t, error, row)
        return _settle(ledger, client, t, error, seen)
    except BaseException:  # Ctrl-C, or a local failure: the process goes no further
        _interrupted(ledger, row, force)
        raise
    # recorded before the check of where it landed, which a Ctrl-C may cut short
    ledger.mark(*args, "submitted", submission_id=sid, late=t.round.is_late)
    landed = _landed(client, t, sid)
    if landed != t.round.number:
        return _moved(ledger, t, sid, landed)
    shown = (t.source or t.path).name  # the user's file, not the copy kept of it
    log.info("submitted %s for %s in round %d", shown, t.model_name, t.round.number)
    return t.result("uploaded", sid)


#: A forced upload cut short: the round's earlier submission stands on Numerai.
_CUT_SHORT = ("the forced upload was interrupted; Numerai holds this submission, or the new "
              "one if the upload reached it: 'numerpilot submit' asks Numerai which")  # fmt: skip


def _interrupted(ledger: Ledger, before: LedgerRow | None, force: bool) -> None:
    """A forced upload stopped by Ctrl-C (or a local failure) in a round already submitted:
    the row is put back as it was, since Numerai holds the earlier submission whatever
    became of the new one (it was left ``uploading``, ``unsure`` or ``due`` in
    ``status``, until the next ``submit``)."""
    if force and before is not None and before.state == "submitted":
        ledger.restore(before, error=_CUT_SHORT)


def _forced_unsure(row: LedgerRow | None, existing: SubmissionInfo, t: Target) -> bool:
    """Whether ``row`` is a forced upload of ``t``'s file left unsure while Numerai lists
    only the round's earlier submission (the one the row keeps): it is settled like any
    unsure upload (sent again once not listed in time), not taken for that earlier one."""
    return (
        row is not None
        and is_unsure(row)
        and row.submission_id == existing.id
        and row.sha256 == t.sha256
    )


def still_waiting(age: float, unsure_wait: float, clock_rate: float, info: RoundInfo) -> bool:
    """Whether an upload unsure for ``age`` seconds (this machine's) is still given time to
    be listed: ``unsure_wait`` seconds on Numerai's clock, or less when the round's deadline
    (its staking close, then its close) comes sooner: it is sent again once it has waited
    as long as the round has left, so that the resend still lands in time (a round scores
    its latest file; a missed round scores none)."""
    waited = age * clock_rate
    deadline = info.close_time if info.is_late else info.close_staking_time
    return waited < unsure_wait and waited < (deadline - info.now).total_seconds()


def _on_clock(real: float, clock_rate: float) -> str:
    """A span of ``real`` seconds here, said on Numerai's clock when that runs faster."""
    if clock_rate == 1.0:
        return span(real)
    return f"{span(real * clock_rate)} on Numerai's clock ({span(real)} here)"


def _waiting(age: float, unsure_wait: float, clock_rate: float) -> str:
    """Why an unsure upload is not sent again yet, with the wait as configured."""
    said = (f"the upload of {span(age * clock_rate)} ago is not listed yet; it is sent "
            f"again only after {span(unsure_wait)} ([submission] "
            "unsure_wait_seconds)")  # fmt: skip
    if clock_rate != 1.0:
        said += (f", counted on Numerai's clock, which runs {clock_rate:g} times as fast as "
                 f"this machine's ({span(unsure_wait / clock_rate)} here)")  # fmt: skip
    return f"{said}, or sooner if the round would close first"


def _landed(client: NumeraiClient, t: Target, sid: str) -> int:
    """The round Numerai filed submission ``sid`` under: the round may close while a file
    uploads, and Numerai then files it under the next (``t``'s round if not listed yet)."""
    try:
        listing = client.submissions(t.model_id)
    except NumeraiAPIError:  # the upload succeeded; only the check could not be made
        return t.round.number
    found = next((sub.round for sub in listing if sub.id == sid), None)
    return t.round.number if found is None else found


def _moved(ledger: Ledger, t: Target, sid: str, landed: int) -> SubmitResult:
    """Record an upload that Numerai filed under round ``landed``: that round has it, and
    ``t``'s round, which closed during the upload, has none."""
    why = (f"round {t.round.number} closed during the upload; Numerai filed submission "
           f"{sid} under round {landed}")  # fmt: skip
    ledger.mark(t.tournament, t.model_name, t.model_id, t.round.number, "failed", error=why)
    ledger.claim(t.tournament, t.model_name, t.model_id, landed, t.sha256, str(t.path))
    ledger.mark(t.tournament, t.model_name, t.model_id, landed, "submitted", submission_id=sid)
    log.warning("%s: %s", t.model_name, why)
    return replace(t.result("uploaded", sid, detail=why), round=landed, late=False)


def settle_closed(ledger: Ledger, client: NumeraiClient, tournament: str, info: RoundInfo) -> int:
    """Settle the rows of a closed round left ``uploading`` by a crash or a lost answer:
    ``submitted`` when Numerai lists the submission, else ``failed``. Returns how many.

    A round that closed cannot be played again, so nothing would settle them otherwise.
    """
    rows = ledger.unsettled(tournament, info.number)
    for row in rows:
        args = (tournament, row.model_name, row.model_id, info.number)
        found = on_numerai(client, row.model_id, info)
        if found is not None:
            ledger.mark(*args, "submitted", submission_id=found.id, late=row.late)
            log.info("%s: round %d settled: Numerai has submission %s", row.model_name,
                     info.number, found.id)  # fmt: skip
        else:
            ledger.mark(*args, "failed", error="the round closed while the upload was unsure; "
                        "Numerai lists no submission")  # fmt: skip
    return len(rows)


def _settle(
    ledger: Ledger,
    client: NumeraiClient,
    t: Target,
    error: NumeraiAPIError,
    seen: frozenset[str],
) -> SubmitResult:
    """An upload that may have happened, reconciled with Numerai: ``uploaded`` when Numerai
    lists a submission now that it did not list before (``seen``); else ``uncertain``, and
    the row stays ``uploading`` for the next attempt to settle (Numerai's list may lag, or
    the request still run there: sending it again at once could make a second one)."""
    try:
        found = in_round(client.submissions(t.model_id), t.round, besides=seen)
    except NumeraiAPIError as check:  # no answer now either: unsure all the same
        log.info("%s: the check after the upload failed too: %s", t.model_name, check)
        found = None
    if found is not None:  # new since the upload began: this upload's
        args = (t.tournament, t.model_name, t.model_id, t.round.number)
        ledger.mark(*args, "submitted", submission_id=found.id, late=t.round.is_late)
        said = "did not confirm it" if error.answered else "was lost"
        return t.result("uploaded", found.id, detail=f"its answer {said}; Numerai lists it")
    args = (t.tournament, t.model_name, t.model_id, t.round.number)
    ledger.mark(*args, "uploading", error=_UNSURE + str(error))  # for the next attempt
    said = str(error).removesuffix(UNSURE_TAIL)  # not "check": the next attempt asks Numerai
    return t.result("uncertain", detail=f"{said}; Numerai may or may not have it: the next "
                    "attempt asks Numerai before sending the file again")  # fmt: skip


def still_unsure(
    ledger: Ledger, settings: SubmissionConfig, ids: dict[str, str], info: RoundInfo,
    names: list[str], clock_rate: float = 1.0,
) -> list[str]:  # fmt: skip
    """The models of ``names`` whose upload in the round ended unsure less than ``[submission]
    unsure_wait_seconds`` ago (on Numerai's clock, ``clock_rate`` times as fast as this
    machine's; less near the round's deadline: :func:`still_waiting`): Numerai may list it
    yet, so nothing is predicted or sent for them until then (the daemon asks again at its
    next poll)."""
    rows = {name: ledger.get(settings.tournament, ids[name], info.number) for name in names}
    wait = settings.unsure_wait_seconds
    return [name for name, row in rows.items() if row is not None and (age := unsure_for(row))
            is not None and still_waiting(age, wait, clock_rate, info)]  # fmt: skip


def is_unsure(row: LedgerRow) -> bool:
    """True for a row whose upload ended without knowing whether Numerai made it."""
    return row.state == "uploading" and (row.last_error or "").startswith(_UNSURE)


def unsure_for(row: LedgerRow) -> float | None:
    """Seconds since the row's upload ended unsure (None: it did not). A process that died
    after Numerai was asked to create the submission left it unsure; one that died before
    (while the file was stored) did not, and its file is sent again at once."""
    if not is_unsure(row):
        return None
    return (datetime.now(UTC) - datetime.fromisoformat(row.updated_at)).total_seconds()


def _refused(
    ledger: Ledger,
    client: NumeraiClient,
    t: Target,
    error: NumeraiAPIError,
    before: LedgerRow | None,
) -> SubmitResult:
    """An upload Numerai refused: recorded as failed (a forced one: the row ``before`` it,
    with its submission, is put back)."""
    args = (t.tournament, t.model_name, t.model_id, t.round.number)
    message = str(error)
    if any(word in message.lower() for word in _PICKLE_WORDS):
        if before is not None and before.state == "submitted":  # --force: it still stands
            ledger.restore(before, error=message)
        else:
            ledger.mark(*args, "skipped", error=message)
        return t.result("skipped", detail=message)
    if _closed_since(client, t.round):  # the refusal is the round's close, not the file
        message = f"round {t.round.number} closed during the upload; Numerai said: {message}"
        error = NumeraiAPIError(message)
    if before is not None and before.state == "submitted":  # --force: the first one stands
        ledger.restore(before, error=message)
    else:
        ledger.mark(*args, "failed", error=message)
    raise error


def _closed_since(client: NumeraiClient, info: RoundInfo) -> bool:
    """True when ``info`` is no longer the open round (False when Numerai cannot say)."""
    try:
        now = client.current_round()
    except NumeraiAPIError:
        return False
    return now.number != info.number or not now.is_open


def check_outcomes(results: list[SubmitResult]) -> None:
    """After the lines are printed: exit code 3 (RemoteError) when an upload may or may not
    have reached Numerai, 1 (SubmissionError) when a model asked for got nothing because
    Numerai runs it from a pickle. The daemon only logs these."""
    unsure = [r.model_name for r in results if r.outcome == "uncertain"]
    if unsure:
        unsure_wait = max(r.unsure_wait for r in results if r.outcome == "uncertain")
        raise RemoteError(
            f"The upload for {', '.join(unsure)} may not have reached Numerai (no answer "
            "confirmed it, and Numerai does not list it yet). Run the command again in a few "
            "minutes, without --force: it asks Numerai first, and sends the file again only "
            f"if Numerai still does not list it {unsure_wait:g} s after the upload ([submission] "
            "unsure_wait_seconds)."
        )
    skipped = [r.model_name for r in results if r.outcome == "skipped"]
    if skipped:
        raise SubmissionError(
            f"Nothing was submitted for {', '.join(skipped)}: Numerai runs "
            f"{'it' if len(skipped) == 1 else 'them'} from an uploaded model pickle and "
            "takes no files for it; leave it out of [submission] models (or -m), or submit "
            "to another model."
        )


#: What to do for the next round, after a round closed: Classic's live file is predicted.
NEXT_ROUND = "run 'numerpilot download' and 'numerpilot predict' then, and submit again"


def check_open(info: RoundInfo, then: str = NEXT_ROUND) -> None:
    """Refuse a round that takes no submissions (``then``: what to do in the next one)."""
    if not info.is_open:
        raise SubmissionError(
            f"Round {info.number} no longer takes submissions (it closed "
            f"{info.close_time:%a %Y-%m-%d %H:%M} UTC); the next round opens soon: {then}."
        )
