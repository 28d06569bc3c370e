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


def test_pinned_version_is_used(client: NumeraiClient, tmp_path: Path) -> None:
    config = Config.model_validate({"data": {"version": "v5.2"}})
    assert download_dataset(Workdir(tmp_path), config, client).name == "v5.2"
    bad = Config.model_validate({"data": {"version": "v9.9"}})
    with pytest.raises(Exception, match="lacks"):
        download_dataset(Workdir(tmp_path), bad, client)
