"""Dataset downloads: resumable, size-checked, cached per version and per round; and which
local version folder the commands take."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shutil
from datetime import timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from tests.support.servers import serving

from numerpilot.api.client import NumeraiClient
from numerpilot.api.errors import NumeraiAPIError
from numerpilot.config import Config
from numerpilot.data import layout
from numerpilot.data.catalog import feature_set
from numerpilot.data.download import DOWNLOAD_LOCK, download_dataset
from numerpilot.data.live_round import LIVE_ROUND_FILE
from numerpilot.data.load import load_era_data
from numerpilot.data.local import local_dataset
from numerpilot.errors import DataError
from numerpilot.pipeline.context import Context
from numerpilot.sandbox import SandboxServer
from numerpilot.workdir import Workdir


def _file_gets(sandbox: SandboxServer) -> int:
    return sandbox.state.requests.count("dataset")


@pytest.fixture(autouse=True)
def _small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("numerpilot.api.http.CHUNK", 4096)


def test_download_file_resumes_after_a_truncated_transfer(
    client: NumeraiClient, sandbox: SandboxServer, tmp_path: Path
) -> None:
    dest = tmp_path / "train.parquet"
    sandbox.faults.script("truncate", "/files/", count=2)
    client.download_file("v5.3/train.parquet", dest)
    assert dest.read_bytes() == (sandbox.data.base / layout.TRAIN).read_bytes()
    assert not dest.with_name("train.parquet.temp").exists()
    assert sandbox.state.requests.count("range") == 2  # resumed twice, not restarted


def test_an_interrupted_download_keeps_its_part_and_resumes_next_time(
    sandbox: SandboxServer, creds: object, tmp_path: Path
) -> None:
    from numerpilot.credentials import Credentials

    assert isinstance(creds, Credentials)
    client = NumeraiClient(creds, sandbox.url, retries=1, backoff=0.01)
    dest = tmp_path / "validation.parquet"
    sandbox.faults.script("truncate", "/files/", count=2)
    with pytest.raises(NumeraiAPIError, match="run the command again to resume"):
        client.download_file("v5.3/validation.parquet", dest)
    temp = dest.with_name("validation.parquet.temp")
    assert temp.exists()
    assert not dest.exists()
    partial = temp.stat().st_size
    assert partial > 0
    client.download_file("v5.3/validation.parquet", dest)
    assert dest.read_bytes() == (sandbox.data.base / layout.VALIDATION).read_bytes()


def test_download_dataset_caches_per_version_and_round(
    client: NumeraiClient, sandbox: SandboxServer, tmp_path: Path
) -> None:
    work = Workdir(tmp_path)
    config = Config()
    folder = download_dataset(work, config, client)
    assert folder == tmp_path / "data" / "v5.3"
    for name in (*layout.REQUIRED_FILES, layout.META_MODEL, layout.LIVE_BENCHMARKS):
        assert (folder / name).exists(), name
    marker = json.loads((folder / LIVE_ROUND_FILE).read_text())
    first_round = client.current_round().number
    assert marker["round"] == first_round
    assert len(marker["sha256"]) == 64
    gets = _file_gets(sandbox)
    download_dataset(work, config, client)
    assert _file_gets(sandbox) == gets  # nothing downloaded again

    sandbox.clock.advance(timedelta(days=1))  # next round: new live era
    old_live = (folder / layout.LIVE).read_bytes()
    download_dataset(work, config, client)
    assert _file_gets(sandbox) == gets + 2  # live + live benchmarks only
    assert json.loads((folder / LIVE_ROUND_FILE).read_text())["round"] == first_round + 1
    assert (folder / f"live_round{first_round}.parquet").read_bytes() == old_live
    assert (folder / layout.LIVE).read_bytes() != old_live


@pytest.mark.parametrize("name", [layout.TRAIN, layout.FEATURES_JSON])
def test_a_damaged_kept_file_is_downloaded_again(
    client: NumeraiClient, sandbox: SandboxServer, tmp_path: Path, name: str
) -> None:
    work, config = Workdir(tmp_path), Config()
    folder = download_dataset(work, config, client)
    whole = (folder / name).read_bytes()
    (folder / name).write_bytes(whole[: len(whole) // 2])  # cut short
    gets = _file_gets(sandbox)
    download_dataset(work, config, client)
    assert _file_gets(sandbox) == gets + 1 and (folder / name).read_bytes() == whole


def test_a_kept_features_json_without_feature_sets_is_downloaded_again(
    client: NumeraiClient, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """An error answered in JSON with HTTP 200 parses: it was kept as features.json, train
    said to download it again, and download kept it (it parsed) every time."""
    work, config = Workdir(tmp_path), Config()
    folder = download_dataset(work, config, client)
    whole = (folder / layout.FEATURES_JSON).read_bytes()
    (folder / layout.FEATURES_JSON).write_text('{"message": "Access Denied"}')
    with pytest.raises(DataError, match="has no 'feature_sets' object; download it again"):
        feature_set(folder, "small")
    gets = _file_gets(sandbox)
    download_dataset(work, config, client)
    assert _file_gets(sandbox) == gets + 1
    assert (folder / layout.FEATURES_JSON).read_bytes() == whole
    assert feature_set(folder, "small")


def test_a_json_error_answered_with_200_is_no_features_json(
    client: NumeraiClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Storage that answers {"message": ...} with HTTP 200: it was published as features.json."""
    work, config = Workdir(tmp_path), Config()
    real = client.dataset_url
    body = b'{"message": "Access Denied"}'
    with serving(lambda headers: (200, {"Content-Type": "application/json"}, body)) as url:
        monkeypatch.setattr(client, "dataset_url", lambda name, round=None: url + "f"
                            if name.endswith("features.json") else real(name, round))  # fmt: skip
        with pytest.raises(NumeraiAPIError, match="download v5.3/features.json: the server sent "
                           "28 bytes that are not a features.json .*nothing was kept"):  # fmt: skip
            download_dataset(work, config, client)
    folder = work.root / "data" / "v5.3"
    assert not (folder / layout.FEATURES_JSON).exists() and not list(folder.rglob("*.temp"))


def error_page() -> contextlib.AbstractContextManager[str]:
    """A storage server that answers every GET with an HTML error page and HTTP 200."""
    page = b"<html><body>AccessDenied</body></html>"
    return serving(lambda headers: (200, {"Content-Type": "text/html"}, page))


def test_an_error_page_answered_with_200_is_no_live_file(
    client: NumeraiClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It was kept as live.parquet and recorded as the round's: predict refused it, and
    every later download trusted it (the daemon missed the round)."""
    work, config = Workdir(tmp_path), Config()
    folder = download_dataset(work, config, client)
    (folder / layout.LIVE).unlink()
    (folder / LIVE_ROUND_FILE).unlink()
    real = client.dataset_url
    with error_page() as page:
        monkeypatch.setattr(client, "dataset_url", lambda name, round=None: page + "live"
                            if name.endswith(layout.LIVE) else real(name, round))  # fmt: skip
        with pytest.raises(NumeraiAPIError) as error:
            download_dataset(work, config, client)
    assert (
        "download v5.3/live.parquet: the server sent 38 bytes that are not a parquet file "
        "(a web page: an error message?); nothing was kept" in str(error.value)
    )
    assert error.value.retryable
    assert not (folder / layout.LIVE).exists() and not (folder / LIVE_ROUND_FILE).exists()
    assert not list(folder.rglob("*.temp"))
    monkeypatch.setattr(client, "dataset_url", real)
    download_dataset(work, config, client)  # Numerai serves the file again
    assert pq.read_metadata(folder / layout.LIVE).num_rows > 0


def test_a_damaged_live_file_of_this_round_is_downloaded_again(
    client: NumeraiClient, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """Recorded as this round's (by an earlier numerpilot) but unreadable: fetched again."""
    work, config = Workdir(tmp_path), Config()
    folder = download_dataset(work, config, client)
    whole = (folder / layout.LIVE).read_bytes()
    (folder / layout.LIVE).write_bytes(b"<html>AccessDenied</html>")
    marker = json.loads((folder / LIVE_ROUND_FILE).read_text())
    digest = hashlib.sha256(b"<html>AccessDenied</html>").hexdigest()
    marker["sha256"] = marker["files"][layout.LIVE] = digest
    (folder / LIVE_ROUND_FILE).write_text(json.dumps(marker))
    download_dataset(work, config, client)
    assert (folder / layout.LIVE).read_bytes() == whole


def test_two_downloads_into_one_folder_at_once_both_succeed(
    client: NumeraiClient, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """The second failed with "No such file or directory: .../.round<N>/live.parquet" (the
    first had moved the staged files in): it now waits for the first, then finds it done."""
    from concurrent.futures import ThreadPoolExecutor

    work, config = Workdir(tmp_path), Config()
    sandbox.faults.latency = 0.05
    with ThreadPoolExecutor(2) as pool:
        folders = [f.result() for f in [pool.submit(download_dataset, work, config, client)
                                         for _ in range(2)]]  # fmt: skip
    assert folders[0] == folders[1]
    live = pq.read_table(folders[0] / layout.LIVE)
    assert live.num_rows > 0 and not list(folders[0].glob(".round*"))
    assert (
        json.loads((folders[0] / LIVE_ROUND_FILE).read_text())["round"]
        == client.current_round().number
    )


def test_pinned_version_is_used(client: NumeraiClient, tmp_path: Path) -> None:
    config = Config.model_validate({"data": {"version": "v5.2"}})
    assert download_dataset(Workdir(tmp_path), config, client).name == "v5.2"
    bad = Config.model_validate({"data": {"version": "v9.9"}})
    with pytest.raises(Exception, match="lacks"):
        download_dataset(Workdir(tmp_path), bad, client)


def _etag(data: bytes) -> str:
    import hashlib

    return f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'


def test_a_part_of_last_rounds_live_file_is_not_resumed_into_this_rounds(
    client: NumeraiClient, sandbox: SandboxServer, tmp_path: Path
) -> None:
    work, config = Workdir(tmp_path), Config()
    folder = download_dataset(work, config, client)
    old = (folder / layout.LIVE).read_bytes()
    # An interrupted download of last round's live file: its part and its validator.
    part = folder / "live.parquet.temp"
    part.write_bytes(old[: len(old) // 2])
    (folder / "live.parquet.temp.json").write_text(json.dumps({"validator": _etag(old)}))
    sandbox.clock.advance(timedelta(days=1))
    download_dataset(work, config, client)
    number = client.current_round().number
    assert (folder / layout.LIVE).read_bytes() == sandbox.data.path(
        layout.LIVE, number
    ).read_bytes()
    assert not part.exists() and not (folder / "live.parquet.temp.json").exists()


def test_a_part_of_the_same_object_is_resumed(
    client: NumeraiClient, sandbox: SandboxServer, tmp_path: Path
) -> None:
    whole = (sandbox.data.base / layout.TRAIN).read_bytes()
    dest = tmp_path / "train.parquet"
    dest.with_name("train.parquet.temp").write_bytes(whole[:5000])
    dest.with_name("train.parquet.temp.json").write_text(json.dumps({"validator": _etag(whole)}))
    client.download_file("v5.3/train.parquet", dest)
    assert dest.read_bytes() == whole
    assert sandbox.state.requests.count("range") == 1  # resumed, not started over


def test_a_part_without_a_recorded_validator_is_started_over(
    client: NumeraiClient, sandbox: SandboxServer, tmp_path: Path
) -> None:
    whole = (sandbox.data.base / layout.TRAIN).read_bytes()
    dest = tmp_path / "train.parquet"
    dest.with_name("train.parquet.temp").write_bytes(b"x" * 5000)  # from who knows where
    client.download_file("v5.3/train.parquet", dest)
    assert dest.read_bytes() == whole
    assert sandbox.state.requests.count("range") == 0


def test_the_sandbox_honours_if_range(sandbox: SandboxServer) -> None:
    import requests

    url = f"{sandbox.url}files/v5.3/{layout.FEATURES_JSON}"
    whole = requests.get(url, timeout=5)
    etag = whole.headers["ETag"]
    same = requests.get(url, headers={"Range": "bytes=10-", "If-Range": etag}, timeout=5)
    assert same.status_code == 206 and same.content == whole.content[10:]
    other = requests.get(url, headers={"Range": "bytes=10-", "If-Range": '"x"'}, timeout=5)
    assert other.status_code == 200 and other.content == whole.content


def test_download_records_when_the_round_closes(
    client: NumeraiClient, sandbox: SandboxServer, tmp_path: Path
) -> None:
    from numerpilot.data.live_round import live_round

    folder = download_dataset(Workdir(tmp_path), Config(), client)
    recorded = live_round(folder)
    info = client.current_round()
    assert recorded is not None and recorded.number == info.number
    assert recorded.closes == info.close_time
    assert recorded.is_open() is True  # on the sandbox's clock, not this machine's
    sandbox.clock.advance(timedelta(hours=8))  # staking closed at 13:00, late ones at 19:00
    assert client.current_round().is_open is False


def test_a_round_change_that_fails_part_way_keeps_one_rounds_files(
    client: NumeraiClient, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """The new round's live file arrives, its benchmarks fail: last round's pair is kept
    as its round copies and the new live file waits until both have arrived, so the folder
    never pairs two rounds' files; the next download fetches only the missing one."""
    work, config = Workdir(tmp_path), Config()
    folder = download_dataset(work, config, client)
    first = client.current_round().number
    old = {name: (folder / name).read_bytes() for name in (layout.LIVE, layout.LIVE_BENCHMARKS)}
    sandbox.clock.advance(timedelta(days=1))
    second = client.current_round().number
    assert second == first + 1
    sandbox.faults.script("error", f"/files/v5.3/{layout.LIVE_BENCHMARKS}", count=10)
    with pytest.raises(NumeraiAPIError):
        download_dataset(work, config, client)
    sandbox.faults.clear()
    for name, content in old.items():  # neither round's file in place, no mix of the two
        assert not (folder / name).exists(), name
        kept = folder / name.replace(".parquet", f"_round{first}.parquet")
        assert kept.read_bytes() == content, name
    assert json.loads((folder / LIVE_ROUND_FILE).read_text())["round"] == first  # not rewritten

    gets = _file_gets(sandbox)
    download_dataset(work, config, client)
    assert _file_gets(sandbox) == gets + 1  # the live file that arrived is not fetched again
    marker = json.loads((folder / LIVE_ROUND_FILE).read_text())
    assert marker["round"] == second
    for name, content in old.items():
        new = (folder / name).read_bytes()
        assert new == sandbox.data.path(name, second).read_bytes() != content, name
        kept = folder / name.replace(".parquet", f"_round{first}.parquet")
        assert kept.read_bytes() == content, name
        assert marker["files"][name] == hashlib.sha256(new).hexdigest()
    hidden = {p.name for p in folder.iterdir() if p.name.startswith(".")}
    assert hidden <= {DOWNLOAD_LOCK}  # no staging folder left


def test_a_file_not_of_the_recorded_round_is_not_kept_as_that_rounds(
    client: NumeraiClient, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """A live file whose hash is not the one recorded (a crash between the moves, a copy
    put there by hand) is replaced, not kept as last round's copy."""
    work, config = Workdir(tmp_path), Config()
    folder = download_dataset(work, config, client)
    first = client.current_round().number
    (folder / layout.LIVE).write_bytes(sandbox.data.path(layout.LIVE, first + 1).read_bytes())
    sandbox.clock.advance(timedelta(days=1))
    download_dataset(work, config, client)
    assert not (folder / f"live_round{first}.parquet").exists()
    assert (folder / f"live_benchmark_models_round{first}.parquet").exists()
    assert (folder / layout.LIVE).read_bytes() == (
        sandbox.data.path(layout.LIVE, first + 1).read_bytes()
    )


def test_a_live_only_round_change_leaves_no_benchmarks_of_the_old_round(
    client: NumeraiClient, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """``live_only`` (a signal of your own) fetches the new live file alone: last round's
    benchmarks go to their round copy rather than stay next to it unrecorded."""
    work, config = Workdir(tmp_path), Config()
    folder = download_dataset(work, config, client)
    first = client.current_round().number
    bench = (folder / layout.LIVE_BENCHMARKS).read_bytes()
    sandbox.clock.advance(timedelta(days=1))
    download_dataset(work, config, client, live_only=True)
    assert not (folder / layout.LIVE_BENCHMARKS).exists()
    assert (folder / f"live_benchmark_models_round{first}.parquet").read_bytes() == bench
    assert set(json.loads((folder / LIVE_ROUND_FILE).read_text())["files"]) == {layout.LIVE}
    download_dataset(work, config, client)  # the whole set again: this round's benchmarks
    assert (folder / layout.LIVE_BENCHMARKS).read_bytes() == sandbox.data.path(
        layout.LIVE_BENCHMARKS, first + 1
    ).read_bytes()


def _complete(folder: Path, synthetic_dir: Path) -> Path:
    shutil.copytree(synthetic_dir, folder)
    return folder


def _interrupted(folder: Path) -> Path:
    """What an interrupted first download leaves: the part of train.parquet, nothing else."""
    folder.mkdir(parents=True)
    (folder / "train.parquet.temp").write_bytes(b"PAR1" + b"\0" * 100)
    return folder


def _context(root: Path, version: str = "newest") -> Context:
    (root / "numerpilot.toml").write_text(f'[data]\nversion = "{version}"\n')
    return Context.load(Workdir(root))


def test_newest_skips_an_incomplete_newer_folder(
    tmp_path: Path, synthetic_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    complete = _complete(data / "v5.2", synthetic_dir)
    _interrupted(data / "v5.3")
    ctx = _context(tmp_path)
    with caplog.at_level(logging.WARNING, logger="numerpilot.data.local"):
        assert ctx.data_dir == complete
        assert ctx.data_dir == complete and ctx.data_version == "v5.2"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # once, however often a command asks
    assert str(data / "v5.3") in warnings[0] and "incomplete" in warnings[0]
    assert "numerpilot download" in warnings[0] and str(complete) in warnings[0]
    assert layout.FEATURES_JSON in warnings[0] and layout.LIVE in warnings[0]
    # what train and predict read: the complete folder's files
    assert feature_set(ctx.data_dir, "medium") == feature_set(synthetic_dir, "medium")
    assert len(load_era_data(ctx.data_dir / layout.LIVE, [])) > 0
    assert local_dataset(data, "newest") == complete  # what submit checks, too


def test_newest_takes_the_newer_folder_once_it_is_complete(
    tmp_path: Path, synthetic_dir: Path
) -> None:
    data = tmp_path / "data"
    _complete(data / "v5.2", synthetic_dir)
    newer = _complete(data / "v5.3", synthetic_dir)
    (newer / layout.LIVE).unlink()  # live.parquet alone is missing: not complete
    assert local_dataset(data, "newest") == data / "v5.2"
    shutil.copy(synthetic_dir / layout.LIVE, newer / layout.LIVE)
    assert local_dataset(data, "newest") == newer


def test_without_a_complete_folder_the_newest_says_what_it_lacks(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _interrupted(data / "v5.2")
    _interrupted(data / "v5.3")
    ctx = _context(tmp_path)
    assert ctx.data_dir == data / "v5.3"
    with pytest.raises(DataError, match=r"v5\.3/features\.json is missing\. Run 'numerpilot "):
        feature_set(ctx.data_dir, "medium")


def test_a_pinned_incomplete_version_is_not_replaced(tmp_path: Path, synthetic_dir: Path) -> None:
    data = tmp_path / "data"
    _complete(data / "v5.2", synthetic_dir)
    pinned = _interrupted(data / "v5.3")
    ctx = _context(tmp_path, "v5.3")
    assert ctx.data_dir == pinned
    with pytest.raises(DataError, match=r"v5\.3/features\.json is missing\. Run 'numerpilot "):
        feature_set(ctx.data_dir, "medium")  # what train reads first
    with pytest.raises(DataError, match=r"v5\.3/live\.parquet is missing\. Run 'numerpilot "):
        load_era_data(ctx.data_dir / layout.LIVE, [])  # what predict reads


def test_a_newest_version_numerai_lists_incomplete_is_numerais_side(
    client: NumeraiClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exit 3 and retried by the daemon (a release in progress), not a configuration error."""
    listed = [f for f in client.list_datasets() if not f.endswith(layout.LIVE)]
    monkeypatch.setattr(client, "list_datasets", lambda round=None: listed)
    with pytest.raises(NumeraiAPIError, match="newest dataset v5.3 lacks live.parquet") as error:
        download_dataset(Workdir(tmp_path), Config(), client)
    assert error.value.retryable and error.value.exit_code == 3
