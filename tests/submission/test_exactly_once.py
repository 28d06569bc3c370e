"""Exactly once: lost answers, crashes between upload and record, concurrent submits."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from numerpilot.api.client import NumeraiClient
from numerpilot.api.errors import NumeraiAPIError
from numerpilot.api.rounds import RoundInfo
from numerpilot.cli.render import submission_line
from numerpilot.config import Config
from numerpilot.credentials import Credentials
from numerpilot.data import layout
from numerpilot.data.download import download_dataset
from numerpilot.errors import RemoteError, SubmissionError
from numerpilot.io import sha256_file
from numerpilot.sandbox import DEMO_PUBLIC_ID, DEMO_SECRET_KEY, SandboxServer
from numerpilot.submission.ledger import Ledger
from numerpilot.submission.once import (
    Target,
    check_outcomes,
    settle_closed,
    still_waiting,
    submit_once,
)
from numerpilot.submission.submit import submit_predictions
from numerpilot.words import span
from numerpilot.workdir import Workdir

MODEL = "sandbox_model"
CONFIG = Config.model_validate({"submission": {"models": [MODEL]}})


@pytest.fixture
def work(tmp_path: Path, client: NumeraiClient) -> Workdir:
    work = Workdir(tmp_path / "wd")
    download_dataset(work, CONFIG, client)
    live = pd.read_parquet(work.root / "data" / "v5.3" / layout.LIVE)
    values = np.random.default_rng(0).uniform(0.01, 0.99, len(live))
    path = work.root / "predictions" / "live_predictions.csv"
    path.parent.mkdir(parents=True)
    pd.DataFrame({"id": live.index, "prediction": values}).to_csv(path, index=False)
    (work.root / "numerpilot.toml").write_text(f'[submission]\nmodels = ["{MODEL}"]\n')
    return work


def _path(work: Workdir) -> Path:
    return work.root / "predictions" / "live_predictions.csv"


def test_an_unsure_upload_whose_check_fails_too_is_not_resent_at_once(
    work: Workdir, client: NumeraiClient, sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """No answer to the create mutation, and the listing that follows fails as well: the
    upload is unsure all the same (it was sent again at once when the check failed)."""
    query = client.api.raw_query
    calls: list[str] = []

    def failing(text: str, *args: object, **kwargs: object) -> dict[str, object]:
        calls.append(text)
        if "create_submission" in text:
            raise NumeraiAPIError("create: no answer; unsure", uncertain=True)
        if "submissions(" in text and any("create_submission" in c for c in calls):
            raise NumeraiAPIError("submissions: HTTP 503", retryable=True)
        return query(text, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(client.api, "raw_query", failing)
    (result,) = submit_predictions(work, CONFIG, client, _path(work))
    assert result.outcome == "uncertain"
    # not "check before sending it again": numerpilot asks Numerai itself
    assert result.detail.endswith("the next attempt asks Numerai before sending the file again")
    row = Ledger(work.state_db).get("classic", result.model_id, result.round)
    assert row is not None and row.state == "uploading" and "unsure" in (row.last_error or "")
    monkeypatch.setattr(client.api, "raw_query", query)
    (again,) = submit_predictions(work, CONFIG, client, _path(work))  # at once: asked, not sent
    assert again.outcome == "uncertain" and sandbox.state.submissions == []


def test_a_lost_answer_is_reconciled_not_resent(
    work: Workdir, sandbox: SandboxServer, creds: object
) -> None:
    client = NumeraiClient(creds, sandbox.url, timeout=0.5, retries=3, backoff=0.01)  # type: ignore[arg-type]
    sandbox.faults.lose_hold = 1.0
    sandbox.faults.script("lose", "create_submission")
    (result,) = submit_predictions(work, CONFIG, client, _path(work))
    (received,) = sandbox.state.submissions  # created once, although the answer was lost
    assert result.outcome == "uploaded" and result.submission_id == received.id
    assert "answer was lost" in submission_line(result)  # not "nothing uploaded"
    row = Ledger(work.state_db).get("classic", result.model_id, result.round)
    assert row is not None
    assert (row.state, row.submission_id, row.attempts) == ("submitted", received.id, 1)
    (again,) = submit_predictions(work, CONFIG, client, _path(work))
    assert again.outcome == "already_done" and len(sandbox.state.submissions) == 1


def test_a_503_after_the_upload_was_made_is_reconciled_not_resent(
    work: Workdir, client: NumeraiClient, sandbox: SandboxServer
) -> None:
    """A proxy's 503 after Numerai created the submission: asked, not sent again."""
    sandbox.faults.script("fail_after", "create_submission")
    (result,) = submit_predictions(work, CONFIG, client, _path(work))
    (received,) = sandbox.state.submissions
    assert result.outcome == "uploaded" and result.submission_id == received.id
    assert "its answer did not confirm it; Numerai lists it" in submission_line(result)


def test_a_503_with_nothing_listed_is_settled_by_the_next_attempt(
    work: Workdir, client: NumeraiClient, sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A 503 to the create mutation with no new submission listed: not sent again at once
    (the list may lag: a second submission); the row stays 'uploading' and the next run
    asks again, then sends it."""
    create = client.api.raw_query
    refusals = iter([True])

    def turned_away(query: str, *args: object, **kwargs: object) -> dict[str, object]:
        if "create_submission" in query and next(refusals, False):
            raise NumeraiAPIError("create: answered HTTP 503; unsure", uncertain=True,
                                  answered=True)  # fmt: skip
        return create(query, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(client.api, "raw_query", turned_away)
    (result,) = submit_predictions(work, CONFIG, client, _path(work))
    assert result.outcome == "uncertain" and sandbox.state.submissions == []
    row = Ledger(work.state_db).get("classic", result.model_id, result.round)
    assert row is not None and row.state == "uploading"
    with pytest.raises(RemoteError, match="may not have reached Numerai"):
        check_outcomes([result])
    (again,) = submit_predictions(work, CONFIG, client, _path(work))  # at once: not yet
    assert again.outcome == "uncertain" and sandbox.state.submissions == []
    assert "is not listed yet; it is sent again only after 120 s" in again.detail
    later = CONFIG.model_copy(update={"submission": CONFIG.submission.model_copy(
        update={"unsure_wait_seconds": 0})})  # fmt: skip
    (result,) = submit_predictions(work, later, client, _path(work))  # later
    (received,) = sandbox.state.submissions
    assert result.outcome == "uploaded" and result.submission_id == received.id


def _unsure_now(work: Workdir, client: NumeraiClient) -> Target:
    """The model's upload in this round ended unsure just now (its answer was lost)."""
    model_id, info = client.models()[MODEL], client.current_round()
    ledger = Ledger(work.state_db)
    ledger.claim("classic", MODEL, model_id, info.number, "sha", str(_path(work)))
    ledger.mark("classic", MODEL, model_id, info.number, "uploading",
                error="unsure: create: no answer")  # fmt: skip
    return Target("classic", MODEL, model_id, info, _path(work), sha256_file(_path(work)))


def test_the_unsure_wait_is_said_as_configured_on_a_fast_clock(
    work: Workdir, client: NumeraiClient, sandbox: SandboxServer
) -> None:
    """Against a sandbox whose clock runs 60 times as fast, the 120 s of
    unsure_wait_seconds are 2 s here: the message says both, not the scaled figure alone
    (a sandbox at --speed 3600 made it "sent again only after 0 s")."""
    target = _unsure_now(work, client)
    result = submit_once(Ledger(work.state_db), client, target, force=False, unsure_wait=120,
                         clock_rate=60)  # fmt: skip
    assert result.outcome == "uncertain" and sandbox.state.submissions == []
    assert ("it is sent again only after 120 s ([submission] unsure_wait_seconds), counted "
            "on Numerai's clock, which runs 60 times as fast as this machine's (2 s here)"
            ) in result.detail  # fmt: skip
    line = submission_line(result)  # the terminal says why nothing was sent (it did not)
    assert "Numerai does not list it yet (the upload of " in line and "2 s here" in line
    config = CONFIG.model_copy(update={"submission": CONFIG.submission.model_copy(
        update={"unsure_wait_seconds": 1})})  # fmt: skip
    (later,) = submit_predictions(work, config, client, _path(work), clock_rate=60)
    assert later.outcome == "uploaded" and len(sandbox.state.submissions) == 1  # 1 s there


def test_an_unsure_upload_is_sent_again_in_time_before_the_round_closes(
    work: Workdir, client: NumeraiClient, sandbox: SandboxServer
) -> None:
    """With 120 s of unsure_wait_seconds, a 20-second round (a compressed sandbox's) closed
    while the daemon waited, and the round was missed: near the deadline the upload is sent
    again once it has waited as long as the round has left."""
    target = _unsure_now(work, client)
    info = target.round
    left = timedelta(microseconds=1)  # the staking close is a moment away
    near = replace(target, round=replace(info, now=info.close_staking_time - left))
    result = submit_once(Ledger(work.state_db), client, near, force=False, unsure_wait=120)
    assert result.outcome == "uploaded" and len(sandbox.state.submissions) == 1
    early = replace(info, now=info.close_staking_time - timedelta(seconds=300))
    assert still_waiting(100, 120, 1.0, early) and not still_waiting(130, 120, 1.0, early)
    soon = replace(info, now=info.close_staking_time - timedelta(seconds=10))
    assert still_waiting(9, 120, 1.0, soon) and not still_waiting(10, 120, 1.0, soon)
    assert not still_waiting(5, 120, 2.0, soon)  # 10 s on a clock twice as fast
    late = replace(info, now=info.close_staking_time + timedelta(seconds=10))  # then: close
    assert still_waiting(100, 120, 1.0, late)


def test_a_short_unsure_wait_is_not_said_as_zero(
    work: Workdir, client: NumeraiClient, sandbox: SandboxServer
) -> None:
    """A wait under a second (a fast clock's, scaled) read "sent again only after 0 s"."""
    target = _unsure_now(work, client)
    result = submit_once(Ledger(work.state_db), client, target, force=False, unsure_wait=30)
    assert result.outcome == "uncertain"
    assert "it is sent again only after 30 s ([submission] unsure_wait_seconds)" in result.detail
    short = submit_once(Ledger(work.state_db), client, target, force=False, unsure_wait=0.4)
    if short.outcome == "uncertain":  # else this machine took 0.4 s since the mark
        assert "only after 0.4 s" in short.detail
    assert [span(v) for v in (120, 12.4, 5, 2.5, 0.0333, 0, 725, 82_440)] == [
        "120 s", "12 s", "5 s", "2.5 s", "0.033 s", "0 s", "12 min", "22.9 h"
    ]  # fmt: skip


def test_an_unsure_upload_under_a_lagging_list_is_not_sent_twice(
    work: Workdir, client: NumeraiClient, sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A 503 after Numerai created the submission, and a list that does not show it yet:
    the next attempt (a poll later) sent it again, and the round held two."""
    sandbox.faults.script("fail_after", "create_submission")
    monkeypatch.setattr(client, "submissions", lambda model_id: [])  # the list lags
    (first,) = submit_predictions(work, CONFIG, client, _path(work))
    (second,) = submit_predictions(work, CONFIG, client, _path(work))
    assert first.outcome == second.outcome == "uncertain"
    assert len(sandbox.state.submissions) == 1
    monkeypatch.undo()  # the list has caught up
    (settled,) = submit_predictions(work, CONFIG, client, _path(work))
    assert settled.outcome == "reconciled" and len(sandbox.state.submissions) == 1


def test_a_process_killed_once_numerai_was_asked_to_create_leaves_the_upload_unsure(
    work: Workdir, client: NumeraiClient, sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The process died once the create request was sent (Numerai made the submission)
    and the list lags after the restart: the restart sent the file again at once, and the
    round held two."""
    real = client.query

    def dies_after_create(query: str, *args: object, **kwargs: object) -> Any:
        answer = real(query, *args, **kwargs)  # type: ignore[arg-type]
        if "create_submission" in query:
            raise SystemExit(137)  # kill -9, as far as this process's code goes
        return answer

    monkeypatch.setattr(client, "query", dies_after_create)
    with pytest.raises(SystemExit):
        submit_predictions(work, CONFIG, client, _path(work))
    monkeypatch.setattr(client, "query", real)
    monkeypatch.setattr(client, "submissions", lambda model_id: [])  # the list lags
    (restart,) = submit_predictions(work, CONFIG, client, _path(work))
    assert restart.outcome == "uncertain" and len(sandbox.state.submissions) == 1
    monkeypatch.undo()  # the list has caught up
    (settled,) = submit_predictions(work, CONFIG, client, _path(work))
    assert settled.outcome == "reconciled" and len(sandbox.state.submissions) == 1


def test_a_listing_that_lags_is_no_reason_to_upload_twice(
    work: Workdir, client: NumeraiClient, sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The ledger holds the id Numerai confirmed; a listing without it yet (eventually
    consistent) does not make a second upload: --force does."""
    (first,) = submit_predictions(work, CONFIG, client, _path(work))
    monkeypatch.setattr(client, "submissions", lambda model_id: [])
    (again,) = submit_predictions(work, CONFIG, client, _path(work))
    assert again.outcome == "already_done" and again.submission_id == first.submission_id
    assert "Numerai does not list it yet); --force uploads again" in submission_line(again)
    assert len(sandbox.state.submissions) == 1
    (forced,) = submit_predictions(work, CONFIG, client, _path(work), force=True)
    assert forced.outcome == "uploaded" and len(sandbox.state.submissions) == 2


def test_a_forced_upload_refused_for_a_pickle_model_keeps_the_submission(
    work: Workdir, client: NumeraiClient, sandbox: SandboxServer
) -> None:
    """The model went to pickle mode elsewhere: Numerai refuses the forced upload and still
    holds the round's submission, which the ledger keeps (it said 'skipped')."""
    (first,) = submit_predictions(work, CONFIG, client, _path(work))
    next(m for m in sandbox.state.models if m.name == MODEL).pickle_id = "up1"
    (forced,) = submit_predictions(work, CONFIG, client, _path(work), force=True)
    assert forced.outcome == "skipped" and not submission_line(forced).endswith("..")
    row = Ledger(work.state_db).get("classic", first.model_id, first.round)
    assert row is not None and (row.state, row.submission_id) == ("submitted", first.submission_id)


def test_a_crash_between_upload_and_record_is_reconciled(
    work: Workdir, client: NumeraiClient, sandbox: SandboxServer
) -> None:
    """The upload reached Numerai, then the process died before recording it."""
    model_id = client.models()[MODEL]
    number = client.current_round().number
    Ledger(work.state_db).claim("classic", MODEL, model_id, number, sha256_file(_path(work)), "p")
    sid = client.upload_predictions(_path(work), model_id)  # ... and the process dies here
    (result,) = submit_predictions(work, CONFIG, client, _path(work))  # the restart
    assert result.outcome == "reconciled" and result.submission_id == sid
    assert len(sandbox.state.submissions) == 1
    row = Ledger(work.state_db).get("classic", model_id, number)
    assert row is not None and (row.state, row.submission_id) == ("submitted", sid)


def test_a_crash_before_the_upload_is_retried(
    work: Workdir, client: NumeraiClient, sandbox: SandboxServer
) -> None:
    """The row says 'uploading' but nothing reached Numerai: upload now, exactly once."""
    model_id = client.models()[MODEL]
    number = client.current_round().number
    Ledger(work.state_db).claim("classic", MODEL, model_id, number, "00", "p")
    (result,) = submit_predictions(work, CONFIG, client, _path(work))
    assert result.outcome == "uploaded" and len(sandbox.state.submissions) == 1
    row = Ledger(work.state_db).get("classic", model_id, number)
    assert row is not None and (row.state, row.attempts) == ("submitted", 2)


def test_three_submits_at_the_same_moment_upload_once(
    work: Workdir, sandbox: SandboxServer
) -> None:
    env = {
        **os.environ,
        "NUMERPILOT_API_URL": sandbox.url,
        "NUMERAI_PUBLIC_ID": DEMO_PUBLIC_ID,
        "NUMERAI_SECRET_KEY": DEMO_SECRET_KEY,
    }
    cmd = [sys.executable, "-m", "numerpilot", "submit", "-C", str(work.root)]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True) for _ in range(3)]  # fmt: skip
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    assert len(sandbox.state.submissions) == 1
    joined = "\n".join(outputs)
    assert joined.count("submitted live_predictions.csv") == 1
    assert joined.count("already submitted") == 2
    (row,) = Ledger(work.state_db).history()
    assert (row.state, row.submission_id) == ("submitted", sandbox.state.submissions[0].id)


def test_rows_of_a_closed_round_left_uploading_are_settled(
    work: Workdir, client: NumeraiClient, sandbox: SandboxServer
) -> None:
    """A crash mid-upload, and the round closed before the restart: the ledger learns what
    Numerai holds instead of keeping 'uploading' for ever."""
    ids, info = client.models(), client.current_round()
    ledger = Ledger(work.state_db)
    for name in ("sandbox_model", "sandbox_model_2"):
        ledger.claim("classic", name, ids[name], info.number, "00", "p")
    sid = client.upload_predictions(_path(work), ids["sandbox_model"])  # only this one arrived
    assert settle_closed(ledger, client, "classic", info) == 2
    done, lost = (
        ledger.get("classic", ids[m], info.number) for m in ("sandbox_model", "sandbox_model_2")
    )
    assert done is not None and (done.state, done.submission_id) == ("submitted", sid)
    assert (
        lost is not None
        and lost.state == "failed"
        and "lists no submission" in str(lost.last_error)
    )
    assert settle_closed(ledger, client, "classic", info) == 0
    assert len(sandbox.state.submissions) == 1  # settling never uploads


class _CreateNeverArrives(NumeraiClient):
    """A client whose create request is lost on the way out (a dropped connection): the
    upload did not happen, and the client cannot know it."""

    def upload_predictions(
        self, path: Path, model_id: str, before_create: Callable[[], None] | None = None
    ) -> str:
        if before_create is not None:  # the file stored, the create request sent ...
            before_create()
        raise NumeraiAPIError("connection dropped", uncertain=True)


def test_a_forced_upload_that_never_arrived_is_not_taken_for_the_old_one(
    work: Workdir, client: NumeraiClient, sandbox: SandboxServer, creds: Credentials
) -> None:
    """--force in a round Numerai has a submission for: only a submission that was not
    there before the upload can be this upload."""
    (first,) = submit_predictions(work, CONFIG, client, _path(work))
    lossy = _CreateNeverArrives(creds, sandbox.url, timeout=2.0, retries=0, backoff=0.01)
    (forced,) = submit_predictions(work, CONFIG, lossy, _path(work), force=True)
    assert forced.outcome == "uncertain" and len(sandbox.state.submissions) == 1
    row = Ledger(work.state_db).get("classic", first.model_id, first.round)
    assert row is not None and row.state == "uploading"  # the next attempt settles it
    with pytest.raises(RemoteError, match="may not have reached Numerai"):
        check_outcomes([forced])


def test_an_upload_filed_under_the_next_round_is_recorded_there(
    work: Workdir, client: NumeraiClient, sandbox: SandboxServer
) -> None:
    """The round closed while the file uploaded and Numerai filed it under the next one:
    the ledger says so (that round has it, the closed one has none), as Numerai does."""
    now = client.current_round()
    closing = replace(now, number=now.number - 1)  # the round the upload was meant for
    model_id = client.models()[MODEL]
    target = Target("classic", MODEL, model_id, closing, _path(work), sha256_file(_path(work)))
    ledger = Ledger(work.state_db)
    result = submit_once(ledger, client, target, force=False, unsure_wait=120)
    (received,) = sandbox.state.submissions
    assert (result.outcome, result.round, result.submission_id) == (
        "uploaded", now.number, received.id
    )  # fmt: skip
    missed, landed = (
        ledger.get("classic", model_id, closing.number),
        ledger.get("classic", model_id, now.number),
    )
    assert missed is not None and missed.state == "failed"
    assert f"under round {now.number}" in str(missed.last_error)
    assert landed is not None and (landed.state, landed.submission_id) == ("submitted", received.id)
    (again,) = submit_predictions(work, CONFIG, client, _path(work))
    assert again.outcome == "already_done" and len(sandbox.state.submissions) == 1


class _RefusesTheFile(NumeraiClient):
    """Numerai refuses the file as Classic does once the round turned: the ids are last
    round's."""

    def upload_predictions(
        self, path: Path, model_id: str, before_create: Callable[[], None] | None = None
    ) -> str:
        if before_create is not None:  # the file stored, the create request sent ...
            before_create()
        raise NumeraiAPIError("Not enough stocks submitted")


def test_a_refusal_after_the_round_closed_says_the_round_closed(
    work: Workdir, sandbox: SandboxServer, creds: Credentials
) -> None:
    client = _RefusesTheFile(creds, sandbox.url, timeout=2.0, retries=0, backoff=0.01)
    now = client.current_round()
    closing = replace(now, number=now.number - 1)  # the round the upload was meant for
    model_id = client.models()[MODEL]
    target = Target("classic", MODEL, model_id, closing, _path(work), sha256_file(_path(work)))
    ledger = Ledger(work.state_db)
    with pytest.raises(NumeraiAPIError, match=f"round {closing.number} closed during the upload"):
        submit_once(ledger, client, target, force=False, unsure_wait=120)
    row = ledger.get("classic", model_id, closing.number)
    assert row is not None and row.state == "failed"
    assert "closed during the upload; Numerai said: Not enough stocks" in str(row.last_error)


class _RoundClosesMeanwhile(NumeraiClient):
    """The round closes after the first look at it: while this submit waits for the
    lock another process holds, say."""

    looked = 0

    def current_round(self) -> RoundInfo:
        now = super().current_round()
        self.looked += 1
        return now if self.looked == 1 else replace(now, number=now.number + 1)


def test_a_submit_that_waited_past_the_close_uploads_nothing(
    work: Workdir, sandbox: SandboxServer, creds: Credentials
) -> None:
    """Under the lock the round is looked at again: an upload now would be filed under the
    next round (with this round's predictions), so nothing is sent."""
    client = _RoundClosesMeanwhile(creds, sandbox.url, timeout=2.0, retries=0, backoff=0.01)
    closed = "Round [0-9]+ closed before the upload began; nothing was uploaded. Round [0-9]+ is"
    with pytest.raises(SubmissionError, match=closed):
        submit_predictions(work, CONFIG, client, _path(work))
    assert sandbox.state.submissions == [] and Ledger(work.state_db).history() == []


class _CtrlCWhileUploading(NumeraiClient):
    """A client whose user presses Ctrl-C while the file uploads (``after_create``: once
    Numerai was asked to create the submission, and did)."""

    after_create = False

    def _put(self, url: str, path: Path, what: str) -> None:
        if not self.after_create:
            raise KeyboardInterrupt
        super()._put(url, path, what)

    def query(self, query: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        data = super().query(query, *args, **kwargs)
        if "create_submission" in query:
            raise KeyboardInterrupt
        return data


@pytest.mark.parametrize("after_create", [False, True])
def test_a_forced_upload_cut_short_by_ctrl_c_keeps_the_earlier_submission(
    work: Workdir, client: NumeraiClient, sandbox: SandboxServer, creds: Credentials,
    after_create: bool,
) -> None:  # fmt: skip
    """Ctrl-C during ``submit --force`` in a round already submitted: Numerai holds the
    earlier submission (or the new one), so the row is put back as 'submitted' at once,
    not left 'uploading' ('due' or 'unsure' in status) until the next submit."""
    (first,) = submit_predictions(work, CONFIG, client, _path(work))
    cut = _CtrlCWhileUploading(creds, sandbox.url, timeout=2.0, retries=0, backoff=0.01)
    cut.after_create = after_create
    with pytest.raises(KeyboardInterrupt):
        submit_predictions(work, CONFIG, cut, _path(work), force=True)
    assert len(sandbox.state.submissions) == (2 if after_create else 1)
    row = Ledger(work.state_db).get("classic", first.model_id, first.round)
    assert row is not None and (row.state, row.submission_id) == ("submitted", first.submission_id)
    assert "interrupted" in str(row.last_error)
    (again,) = submit_predictions(work, CONFIG, client, _path(work))  # asks Numerai which
    assert again.outcome == ("reconciled" if after_create else "already_done")
    assert len(sandbox.state.submissions) == (2 if after_create else 1)


def test_an_upload_whose_landing_check_is_cut_short_is_recorded(
    work: Workdir, client: NumeraiClient, sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Numerai confirmed the submission, then Ctrl-C cut the check of which round it was
    filed under: the confirmed id is recorded (it was left 'uploading', unsure)."""
    listing = client.submissions
    calls: list[str] = []

    def cut_on_the_second(model_id: str) -> list[Any]:
        calls.append(model_id)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return listing(model_id)

    monkeypatch.setattr(client, "submissions", cut_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        submit_predictions(work, CONFIG, client, _path(work))
    (made,) = sandbox.state.submissions
    row = Ledger(work.state_db).get("classic", client.models()[MODEL], made.round)
    assert row is not None and (row.state, row.submission_id) == ("submitted", made.id)


def test_an_unsure_forced_upload_is_sent_again_by_a_plain_submit(
    work: Workdir, client: NumeraiClient, sandbox: SandboxServer, creds: Credentials
) -> None:
    """'--force' whose create request got no answer says to run the command again without
    --force: that run must settle the forced upload (send it again once Numerai has not
    listed it in time), not take the round's earlier submission for it."""
    (first,) = submit_predictions(work, CONFIG, client, _path(work))
    lossy = _CreateNeverArrives(creds, sandbox.url, timeout=2.0, retries=0, backoff=0.01)
    (forced,) = submit_predictions(work, CONFIG, lossy, _path(work), force=True)
    assert forced.outcome == "uncertain"
    waiting = CONFIG.model_copy(deep=True)
    (again,) = submit_predictions(work, waiting, client, _path(work))
    assert again.outcome == "uncertain" and len(sandbox.state.submissions) == 1
    waiting.submission.unsure_wait_seconds = 0
    (sent,) = submit_predictions(work, waiting, client, _path(work))
    assert sent.outcome == "uploaded" and sent.submission_id != first.submission_id
    assert len(sandbox.state.submissions) == 2
    (done,) = submit_predictions(work, waiting, client, _path(work))
    assert done.outcome == "already_done" and len(sandbox.state.submissions) == 2
