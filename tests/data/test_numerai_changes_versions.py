"""Numerai publishes a new data version between rounds (v5.3 with its "quantum" feature
set): numerpilot follows it with data.version = "newest" and stays where it is pinned."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from numerpilot.api.client import NumeraiClient
from numerpilot.config import Config
from numerpilot.credentials import Credentials
from numerpilot.data import layout
from numerpilot.data.catalog import feature_set
from numerpilot.data.download import download_dataset
from numerpilot.errors import DataError
from numerpilot.sandbox import SandboxServer
from numerpilot.sandbox.data import NEW_GROUP
from numerpilot.sandbox.presets import OPEN_TUESDAY, SMALL_SPEC
from numerpilot.workdir import Workdir


@pytest.fixture
def only_v52(sandbox_data: Path) -> Iterator[SandboxServer]:
    """A sandbox that lists v5.2 only, until a test publishes v5.3."""
    with SandboxServer(
        sandbox_data, spec=SMALL_SPEC, start=OPEN_TUESDAY, versions=("v5.2",)
    ) as server:
        yield server


def _publish(server: SandboxServer, version: str) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        f"{server.url}sandbox/publish?version={version}", method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _config(version: str) -> Config:
    return Config.model_validate({"data": {"version": version}})


def test_newest_follows_a_new_version_and_a_pinned_one_stays(
    only_v52: SandboxServer, creds: Credentials, tmp_path: Path
) -> None:
    client = NumeraiClient(creds, only_v52.url, timeout=2.0, retries=3, backoff=0.01)
    newest, pinned = Workdir(tmp_path / "newest"), Workdir(tmp_path / "pinned")
    assert download_dataset(newest, _config("newest"), client).name == "v5.2"
    assert client.newest_version() == "v5.2"

    assert _publish(only_v52, "v5.3") == (200, {"versions": ["v5.2", "v5.3"]})
    assert client.newest_version() == "v5.3"
    folder = download_dataset(newest, _config("newest"), client)
    assert folder.name == "v5.3"
    assert feature_set(folder, NEW_GROUP)  # the new version's new feature set
    kept = download_dataset(pinned, _config("v5.2"), client)
    assert kept.name == "v5.2"
    assert not (pinned.data_root(_config("v5.2")) / "v5.3").exists()
    with pytest.raises(DataError, match=f"feature set '{NEW_GROUP}' is not in"):
        feature_set(kept, NEW_GROUP)  # v5.2 never had it
    assert (kept / layout.TRAIN).read_bytes() == (folder / layout.TRAIN).read_bytes()


def test_an_older_or_malformed_version_is_refused_by_the_sandbox(
    only_v52: SandboxServer,
) -> None:
    status, answer = _publish(only_v52, "v5.1")
    assert status == 400 and "newer than v5.2" in str(answer["error"])
    status, answer = _publish(only_v52, "latest")
    assert status == 400 and "like v5.3" in str(answer["error"])
    assert only_v52.data.versions == ("v5.2",)
