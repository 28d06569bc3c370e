"""NumeraiClient through numerapi against the sandbox on loopback."""

from __future__ import annotations

import logging
import socket
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import numerapi
import pytest
from numerapi import base_api

from numerpilot.api.client import NumeraiClient
from numerpilot.api.errors import NumeraiAPIError
from numerpilot.credentials import Credentials
from numerpilot.data.layout import version_key
from numerpilot.errors import CredentialsError, RemoteError
from numerpilot.sandbox import DEMO_PUBLIC_ID, DEMO_SECRET_KEY, SandboxServer


def test_current_round_follows_the_sandbox_clock(
    client: NumeraiClient, sandbox: SandboxServer
) -> None:
    info = client.current_round()
    assert info.is_open and not info.is_late
    assert (info.open_time.hour, info.close_staking_time.hour) == (12, 13)
    assert info.close_time == info.close_staking_time + timedelta(hours=6)  # then late ones
    sandbox.clock.advance(timedelta(hours=1))
    late = client.current_round()
    assert late.number == info.number and late.is_open and late.is_late
    sandbox.clock.advance(timedelta(hours=6))
    closed = client.current_round()
    assert closed.number == info.number and not closed.is_open
    sandbox.clock.advance(timedelta(days=1))
    assert client.current_round().number == info.number + 1


def test_rounds_carry_their_target_and_payout_settings(
    client: NumeraiClient, sandbox: SandboxServer
) -> None:
    rounds = client.rounds(limit=4)
    assert [r.number for r in rounds] == [rounds[0].number - k for k in range(4)]
    for info in rounds:
        config = sandbox.state.config(info.number)
        assert info.target == config.target
        assert info.payout_factor == pytest.approx(config.payout_factor)
        assert info.multiplier("corr") == config.multiplier("v2_corr20")
        assert info.multiplier("mmc") == config.multiplier("mmc")
    assert len({(r.target, r.multiplier("corr")) for r in rounds}) > 1  # not constants


def test_saturday_round_takes_staked_submissions_until_sunday(
    client: NumeraiClient, sandbox: SandboxServer
) -> None:
    sandbox.clock.advance(timedelta(days=4, hours=1))  # Saturday 13:05
    info = client.current_round()
    assert info.open_time.weekday() == 5 and info.is_open and not info.is_late
    assert info.close_staking_time - info.open_time == timedelta(hours=26)
    assert info.close_time == info.close_staking_time + timedelta(hours=6)


def test_server_clock_not_the_local_one(client: NumeraiClient, sandbox: SandboxServer) -> None:
    client.current_round()
    assert abs((client.server_now() - sandbox.clock.now()).total_seconds()) < 2
    assert client.server_now().year == 2025  # the local clock says otherwise


def test_discovery_lists_versions_and_picks_the_newest(client: NumeraiClient) -> None:
    files = client.list_datasets()
    assert "v5.2/train.parquet" in files
    assert "v5.3/live.parquet" in files
    assert client.newest_version() == "v5.3"
    assert sorted(["v10.0", "v5.3", "v5.10", "x"], key=version_key) == [
        "x",
        "v5.3",
        "v5.10",
        "v10.0",
    ]


def test_model_list_per_tournament(sandbox: SandboxServer, creds: Credentials) -> None:
    classic = NumeraiClient(creds, sandbox.url, backoff=0.01)
    assert sorted(classic.models()) == ["sandbox_model", "sandbox_model_2"]
    signals = NumeraiClient(creds, sandbox.url, tournament="signals", backoff=0.01)
    assert list(signals.models()) == ["sandbox_signals"]


def test_wrong_keys_give_a_clear_error_without_the_key(sandbox: SandboxServer) -> None:
    bad = Credentials("WRONGPUBLICID123", "WRONGSECRETKEY456789")
    client = NumeraiClient(bad, sandbox.url, backoff=0.01)
    with pytest.raises(NumeraiAPIError) as caught:
        client.models()
    message = str(caught.value)
    assert caught.value.auth
    assert isinstance(caught.value, RemoteError)
    assert caught.value.exit_code == 3
    assert "rejected the API keys" in message
    assert "NUMERAI_SECRET_KEY" in message
    assert "WRONGSECRETKEY456789" not in message
    assert "WRONGSECRETKEY456789" not in repr(client)


def test_missing_keys_for_an_authenticated_call(sandbox: SandboxServer) -> None:
    with pytest.raises(CredentialsError, match="NUMERAI_PUBLIC_ID"):
        NumeraiClient(None, sandbox.url).models()


def test_5xx_answers_are_retried(client: NumeraiClient, sandbox: SandboxServer) -> None:
    sandbox.faults.script("error", "/", count=2)
    assert "sandbox_model" in client.models()
    assert sandbox.faults.pending() == 0


def test_persistent_5xx_becomes_one_readable_error(
    client: NumeraiClient, sandbox: SandboxServer
) -> None:
    sandbox.faults.script("error", "/", count=10)
    with pytest.raises(NumeraiAPIError, match=r"failed after 4 attempts \(HTTP 503\)") as caught:
        client.list_datasets()
    assert caught.value.retryable


def test_timeouts_are_retried(
    sandbox: SandboxServer, creds: Credentials, caplog: pytest.LogCaptureFixture
) -> None:
    client = NumeraiClient(creds, sandbox.url, timeout=0.3, retries=2, backoff=0.01)
    sandbox.faults.script("latency", "/", seconds=1.0)
    with caplog.at_level(logging.INFO, logger="numerpilot.api.http"):
        assert client.current_round().number > 0
    assert "timed out (attempt 1 of 3)" in caplog.text
    assert "attempt 2" not in caplog.text


def test_answers_slower_than_the_timeout_name_it(
    sandbox: SandboxServer, creds: Credentials
) -> None:
    """Every attempt timed out: Numerai may be up but slow, so the error names the timeout
    each attempt waited and the setting that raises it."""
    client = NumeraiClient(creds, sandbox.url, timeout=0.3, retries=1, backoff=0.01)
    sandbox.faults.script("latency", "/", seconds=1.0, count=2)
    with pytest.raises(NumeraiAPIError) as error:
        client.current_round()
    assert "failed after 2 attempts (timed out)" in str(error.value)
    assert "Each attempt waited 0.3 s for an answer ([api] timeout)" in str(error.value)


def test_dropped_connections_are_retried(client: NumeraiClient, sandbox: SandboxServer) -> None:
    sandbox.faults.script("drop", "/", count=2)
    assert client.newest_version() == "v5.3"


def test_a_non_graphql_answer_is_not_a_key_error(
    sandbox: SandboxServer, creds: Credentials
) -> None:
    client = NumeraiClient(creds, sandbox.url + "sandbox/received", backoff=0.01)
    with pytest.raises(NumeraiAPIError, match=r"not JSON|without data|HTTP 405"):
        client.list_datasets()


def test_graphql_errors_are_readable(client: NumeraiClient) -> None:
    with pytest.raises(NumeraiAPIError, match="Cannot query field"):
        client.query("query { noSuchField }")


def test_no_logging_side_effects(
    sandbox: SandboxServer, creds: Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("logging.basicConfig must not be called")

    monkeypatch.setattr(logging, "basicConfig", refuse)
    NumeraiClient(creds, sandbox.url, tournament="crypto").current_round()


def test_upload_predictions_sends_exactly_the_file(
    client: NumeraiClient, sandbox: SandboxServer, tmp_path: Path
) -> None:
    ids = sandbox.data.truth(client.current_round().number).ids
    path = tmp_path / "preds.csv"
    path.write_text(
        "id,prediction\n" + "".join(f"{i},{(k % 7) / 7 + 0.05}\n" for k, i in enumerate(ids))
    )
    model_id = client.models()["sandbox_model"]
    submission_id = client.upload_predictions(path, model_id)
    (received,) = sandbox.state.submissions
    assert received.id == submission_id
    assert received.data == path.read_bytes()


def test_the_sandbox_lists_scores_by_the_names_of_its_payout_settings(
    client: NumeraiClient, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """Its rounds pay on canon_corr and canon_mmc: a resolved submission's scores carry
    those names, as Numerai's do, beside v2_corr20 and mmc (it listed only these two)."""
    info = client.current_round()
    ids = sandbox.data.truth(info.number).ids
    path = tmp_path / "preds.csv"
    path.write_text(
        "id,prediction\n" + "".join(f"{i},{(k % 7) / 7 + 0.05}\n" for k, i in enumerate(ids))
    )
    model_id = client.models()["sandbox_model"]
    client.upload_predictions(path, model_id)
    sandbox.state.resolve(info.number)
    listed = {s["displayName"]: s["value"] for s in client.submission_scores(model_id)}
    paid_on = {c.name for c in client.current_round().scores}
    assert paid_on == {"canon_corr", "canon_mmc"} and paid_on <= set(listed)
    assert listed["canon_corr"] == listed["v2_corr20"] and listed["canon_mmc"] == listed["mmc"]


def test_a_submission_download_cut_off_or_refused_is_retried_whole(
    client: NumeraiClient, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """The link Numerai gives for an earlier submission file is subject to the same faults
    as any download (the churn check reads it): cut short, dropped or a 503, it is fetched
    again and written whole."""
    ids = sandbox.data.truth(client.current_round().number).ids
    path = tmp_path / "preds.csv"
    path.write_text("id,prediction\n" + "".join(f"{i},{0.1 + k % 8 / 10}\n"
                                                for k, i in enumerate(ids)))  # fmt: skip
    submission_id = client.upload_predictions(path, client.models()["sandbox_model"])
    for kind in ("truncate", "drop", "error"):
        sandbox.faults.script(kind, "/submissions/")
        back = client.download_submission(submission_id, tmp_path / f"back-{kind}.csv")
        assert back.read_bytes() == path.read_bytes(), kind
        assert sandbox.faults.pending() == 0, kind  # the fault met the download
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no leftovers


def test_failed_put_never_creates_a_submission(
    client: NumeraiClient, sandbox: SandboxServer, tmp_path: Path
) -> None:
    path = tmp_path / "preds.csv"
    path.write_text("id,prediction\nx,0.5\n")
    model_id = client.models()["sandbox_model"]
    sandbox.faults.script("error", "/upload/", count=10)
    with pytest.raises(NumeraiAPIError, match=r"upload preds\.csv"):
        client.upload_predictions(path, model_id)
    assert "create_submission" not in sandbox.state.requests
    assert sandbox.state.submissions == []


def test_model_pickle_upload(client: NumeraiClient, sandbox: SandboxServer, tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(b"\x80\x05pickled")
    model_id = client.models()["sandbox_model"]
    upload_id = client.upload_model_pickle(
        path, model_id, data_version="v5.2", docker_image="Python 3.11"
    )
    (pickle,) = sandbox.state.pickles
    assert pickle.id == upload_id
    assert pickle.size == len(b"\x80\x05pickled")
    assert pickle.data_version is not None
    assert pickle.docker_image is not None


def test_unmodified_numerapi_talks_to_the_sandbox(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sandbox answers numerapi's own queries, not just numerpilot's."""
    monkeypatch.setattr(base_api, "API_TOURNAMENT_URL", sandbox.url)
    monkeypatch.setattr(logging, "basicConfig", lambda **kwargs: None)
    api = numerapi.NumerAPI(DEMO_PUBLIC_ID, DEMO_SECRET_KEY, show_progress_bars=False)
    round_number = api.get_current_round()
    assert api.check_round_open() in (True, False)
    assert "v5.3/features.json" in api.list_datasets()
    api.download_dataset("v5.3/features.json", str(tmp_path / "features.json"))
    assert (tmp_path / "features.json").read_bytes() == (
        sandbox.data.path("features.json", round_number, "v5.3")
    ).read_bytes()
    models = api.get_models()
    ids = sandbox.data.truth(round_number).ids
    path = tmp_path / "p.csv"
    path.write_text(
        "id,prediction\n" + "".join(f"{i},{k / len(ids) + 0.001}\n" for k, i in enumerate(ids))
    )
    submission_id = api.upload_predictions(str(path), model_id=models["sandbox_model"])
    assert sandbox.state.submissions[0].id == submission_id
    assert api.get_account()["username"] == "sandbox_user"
    assert sorted(api.model_upload_data_versions()) == ["v5.2", "v5.3"]
    sandbox.state.resolve(round_number)
    scores = api.submission_scores(models["sandbox_model"])
    assert {s["displayName"] for s in scores} == {"v2_corr20", "mmc", "canon_corr", "canon_mmc"}
    with pytest.warns(DeprecationWarning, match="deprecated"):
        perf = api.round_model_performances_v2(models["sandbox_model"])
    assert perf[0]["roundNumber"] == round_number


@pytest.mark.parametrize(("method", "path"), [("POST", "/"), ("PUT", "/upload/some-key")])
def test_a_client_that_leaves_mid_request_is_no_error_for_the_sandbox(
    sandbox: SandboxServer, client: NumeraiClient, caplog: pytest.LogCaptureFixture,
    method: str, path: str,
) -> None:  # fmt: skip
    """A daemon killed while sending (the soak does it every few seconds) leaves the
    sandbox quiet and serving, not printing a traceback per kill."""
    url = urlsplit(sandbox.url)
    with socket.create_connection((url.hostname, url.port)) as conn:
        conn.sendall(f"{method} {path} HTTP/1.1\r\nHost: sandbox\r\nContent-Length: 1000\r\n"
                     "Content-Type: application/json\r\n\r\n{\"query\": ".encode())  # fmt: skip
    time.sleep(0.5)  # the server notices the closed connection
    assert client.current_round().number > 0
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors


def test_the_sandbox_lists_no_round_before_its_first(
    sandbox_data: Path, creds: Credentials
) -> None:
    """Round 600 opens at the sandbox's earliest start; asked for more rounds than have
    opened since, it listed 595-599 and older (status showed them as missed)."""
    from datetime import UTC, datetime

    from numerpilot.sandbox.schedule import ANCHOR_ROUND, CompressedSchedule

    schedule = CompressedSchedule(datetime.now(UTC), round_seconds=600.0, window_seconds=60.0)
    with SandboxServer(sandbox_data, schedule=schedule) as server:
        client = NumeraiClient(creds, server.url, timeout=2.0, retries=0)
        assert [r.number for r in client.rounds(limit=10)] == [ANCHOR_ROUND]
        with pytest.raises(NumeraiAPIError, match="before the sandbox's first"):
            client.api.raw_query(
                "query($n: Int!) { rounds(tournament: 8, number: $n) { number } }", {"n": 599}
            )


def test_the_sandbox_reads_uploaded_ids_as_text() -> None:
    """A SEDOL such as 0263494 was read as the number 263494, and matched no live id."""
    from numerpilot.sandbox.state import _read_predictions

    frame = _read_predictions(b"sedol,signal\n0263494,0.5\n", "signal.csv")
    assert frame["sedol"].tolist() == ["0263494"]
