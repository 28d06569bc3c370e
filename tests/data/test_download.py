"""Dataset downloads: resumable, size-checked, cached per version and per round."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from numerpilot.api.client import NumeraiClient
from numerpilot.api.errors import NumeraiAPIError
from numerpilot.config import Config
from numerpilot.data import layout
from numerpilot.data.download import download_dataset
from numerpilot.data.live_round import LIVE_ROUND_FILE
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
