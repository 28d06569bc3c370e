"""submit_predictions against the sandbox: checks, uploads, ledger, refusals."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numerai_tools.scoring import correlation_contribution, numerai_corr

from numerpilot.api.client import NumeraiClient
from numerpilot.api.errors import NumeraiAPIError
from numerpilot.config import Config
from numerpilot.data import layout
from numerpilot.data.download import download_dataset
from numerpilot.errors import DataError, SubmissionError, UsageError
from numerpilot.sandbox import SandboxServer
from numerpilot.submission.ledger import Ledger
from numerpilot.submission.once import check_open
from numerpilot.submission.submit import submit_predictions
from numerpilot.workdir import Workdir

CONFIG = Config.model_validate({"submission": {"models": ["sandbox_model"]}})


@pytest.fixture
def work(tmp_path: Path, client: NumeraiClient) -> Workdir:
    work = Workdir(tmp_path)
    download_dataset(work, CONFIG, client)
    return work


def _predictions(work: Workdir, *, drop: int = 0, constant: bool = False) -> Path:
    live = pd.read_parquet(work.root / "data" / "v5.3" / layout.LIVE)
    rng = np.random.default_rng(0)
    values = np.full(len(live), 0.5) if constant else rng.uniform(0.01, 0.99, len(live))
    frame = pd.DataFrame({"id": live.index, "prediction": values}).iloc[drop:]
    path = work.root / "predictions" / "live_predictions.csv"
    path.parent.mkdir(exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def test_submit_uploads_the_exact_bytes_and_records_them(
    work: Workdir, client: NumeraiClient, sandbox: SandboxServer
) -> None:
    path = _predictions(work)
    (record,) = submit_predictions(work, CONFIG, client, path)
    assert record.outcome == "uploaded"
    assert record.model_name == "sandbox_model"
    (received,) = sandbox.state.submissions
    assert received.data == path.read_bytes()
    assert received.id == record.submission_id
    assert received.round == record.round == client.current_round().number
    stored = Ledger(work.state_db).get("classic", record.model_id, record.round)
    assert stored is not None
    assert (stored.state, stored.sha256, stored.attempts) == ("submitted", received.sha256, 1)


def test_the_live_file_checked_is_the_one_predict_read(
    work: Workdir, client: NumeraiClient, sandbox: SandboxServer
) -> None:
    """Numerai lists v5.3 as its newest version, but this machine holds this round's live
    file of v5.2 only (a model trained on v5.2): predict reads it, so submit checks the ids
    against it instead of asking for v5.3."""
    path = _predictions(work)
    (work.root / "data" / "v5.3").rename(work.root / "data" / "v5.2")
    assert client.newest_version() == "v5.3"
    (record,) = submit_predictions(work, CONFIG, client, path)
    assert record.outcome == "uploaded"
    assert len(sandbox.state.submissions) == 1


def test_without_a_local_dataset_submit_says_what_to_run(
    tmp_path: Path, client: NumeraiClient
) -> None:
    work = Workdir(tmp_path)
    path = tmp_path / "p.csv"
    path.write_text("id,prediction\nn1,0.5\n")
    with pytest.raises(DataError, match="run 'numerpilot download' and 'numerpilot predict'"):
        submit_predictions(work, CONFIG, client, path)


def test_second_submit_in_a_round_is_refused_unless_forced(
    work: Workdir, client: NumeraiClient, sandbox: SandboxServer
) -> None:
    path = _predictions(work)
    submit_predictions(work, CONFIG, client, path)
    (again,) = submit_predictions(work, CONFIG, client, path)
    assert again.outcome == "already_done"
    assert len(sandbox.state.submissions) == 1
    (forced,) = submit_predictions(work, CONFIG, client, path, force=True)
    assert forced.outcome == "uploaded"
    assert len(sandbox.state.submissions) == 2


def test_after_the_staking_close_a_submission_is_late(
    work: Workdir, client: NumeraiClient, sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    path = _predictions(work)
    sandbox.clock.advance(timedelta(hours=1))  # 13:05 on a Tuesday: staking closed at 13:00
    (record,) = submit_predictions(work, CONFIG, client, path)
    assert record.outcome == "uploaded" and record.late
    assert "staking closed at 13:00 UTC" in caplog.text
    (received,) = sandbox.state.submissions
    assert received.late
    row = Ledger(work.state_db).get("classic", record.model_id, record.round)
    assert row is not None and row.late
    caplog.clear()  # the round is done: nothing is sent, so nothing is late
    (again,) = submit_predictions(work, CONFIG, client, path)
    assert again.outcome == "already_done" and "staking closed" not in caplog.text


def test_a_round_that_takes_no_submissions_is_refused(client: NumeraiClient) -> None:
    info = client.current_round()
    closed = replace(info, now=info.close_time)
    with pytest.raises(SubmissionError, match="no longer takes submissions"):
        check_open(closed)


def test_stale_live_file_is_refused(
    work: Workdir, client: NumeraiClient, sandbox: SandboxServer
) -> None:
    path = _predictions(work)
    sandbox.clock.advance(timedelta(days=1))
    with pytest.raises(SubmissionError, match="numerpilot download"):
        submit_predictions(work, CONFIG, client, path)
    assert sandbox.state.submissions == []


@pytest.mark.parametrize(("drop", "constant"), [(5, False), (0, True)])
def test_invalid_predictions_are_refused(
    work: Workdir, client: NumeraiClient, sandbox: SandboxServer, drop: int, constant: bool
) -> None:
    path = _predictions(work, drop=drop, constant=constant)
    with pytest.raises(SubmissionError, match="live_predictions.csv: .* Classic rules"):
        submit_predictions(work, CONFIG, client, path)
    assert sandbox.state.submissions == []


def test_unknown_model_and_missing_model(work: Workdir, client: NumeraiClient) -> None:
    path = _predictions(work)
    with pytest.raises(SubmissionError, match="sandbox_model_2"):
        submit_predictions(work, CONFIG, client, path, models=["nope"])
    with pytest.raises(UsageError, match="--model"):
        submit_predictions(work, Config(), client, path)


def test_dry_run_uploads_and_records_nothing(
    work: Workdir, client: NumeraiClient, sandbox: SandboxServer
) -> None:
    path = _predictions(work)
    both = ["sandbox_model", "sandbox_model_2"]
    records = submit_predictions(work, CONFIG, client, path, models=both, dry_run=True)
    assert [r.outcome for r in records] == ["dry_run", "dry_run"]
    assert sandbox.state.submissions == []
    assert Ledger(work.state_db).history() == []


def test_dry_run_after_a_submission_still_checks_everything(
    work: Workdir, client: NumeraiClient, sandbox: SandboxServer
) -> None:
    path = _predictions(work)
    (done,) = submit_predictions(work, CONFIG, client, path)
    (dry,) = submit_predictions(work, CONFIG, client, path, dry_run=True)
    assert dry.outcome == "dry_run" and f"already submitted ({done.submission_id})" in dry.detail
    bad = _predictions(work, drop=5)
    with pytest.raises(SubmissionError, match="Classic rules"):
        submit_predictions(work, CONFIG, client, bad, dry_run=True)
    assert len(sandbox.state.submissions) == 1
    # a model Numerai runs from a pickle: the dry run says what a real submit would do
    Ledger(work.state_db).record_model_upload("classic", "sandbox_model", done.model_id, "up1")
    (dry,) = submit_predictions(work, CONFIG, client, _predictions(work), dry_run=True)
    assert dry.detail == (f"already submitted ({done.submission_id}); Numerai runs this model "
                          "from an uploaded pickle: a submit sends it nothing")  # fmt: skip


def test_failed_upload_is_not_recorded(
    work: Workdir, client: NumeraiClient, sandbox: SandboxServer
) -> None:
    path = _predictions(work)
    sandbox.faults.script("error", "/upload/", count=10)
    with pytest.raises(NumeraiAPIError):
        submit_predictions(work, CONFIG, client, path)
    assert sandbox.state.submissions == []
    (row,) = Ledger(work.state_db).history()
    assert row.state == "failed" and "HTTP 503" in str(row.last_error)
    sandbox.faults.clear()
    (retried,) = submit_predictions(work, CONFIG, client, path)  # the next try goes through
    assert retried.outcome == "uploaded"
    assert Ledger(work.state_db).history()[0].attempts == 2


def test_a_forced_upload_that_fails_leaves_the_first_submission_recorded(
    work: Workdir, client: NumeraiClient, sandbox: SandboxServer
) -> None:
    path = _predictions(work)
    (first,) = submit_predictions(work, CONFIG, client, path)
    before = Ledger(work.state_db).history()[0]
    sandbox.faults.script("error", "/upload/", count=10)
    with pytest.raises(NumeraiAPIError):
        submit_predictions(work, CONFIG, client, path, force=True)
    (row,) = Ledger(work.state_db).history()  # Numerai still holds the first one
    assert (row.state, row.submission_id, row.sha256, row.path) == (
        "submitted", first.submission_id, before.sha256, before.path
    )  # fmt: skip
    assert "HTTP 503" in str(row.last_error) and len(sandbox.state.submissions) == 1


def test_resolved_round_is_scored_with_real_metrics(
    work: Workdir, client: NumeraiClient, sandbox: SandboxServer
) -> None:
    path = _predictions(work)
    (record,) = submit_predictions(work, CONFIG, client, path)
    assert client.submission_scores(record.model_id) == []
    sandbox.clock.advance(timedelta(days=32))  # past resolution
    scores = client.submission_scores(record.model_id)
    values = {s["displayName"]: s["value"] for s in scores}
    assert all(s["resolved"] and s["roundNumber"] == record.round for s in scores)
    # The exact numbers numerai-tools gives on the round's hidden targets and meta model.
    truth = sandbox.data.truth(record.round)
    preds = pd.read_csv(path, index_col="id")["prediction"].loc[truth.ids].to_frame()
    target = pd.Series(truth.target, index=preds.index, name="target")
    meta = pd.Series(truth.meta_model, index=preds.index, name="meta")
    corr = numerai_corr(preds, target)["prediction"]
    mmc = correlation_contribution(preds, meta, target)["prediction"]
    expected = {"v2_corr20": corr, "mmc": mmc, "canon_corr": corr, "canon_mmc": mmc}
    assert values == pytest.approx(expected, abs=1e-9)
