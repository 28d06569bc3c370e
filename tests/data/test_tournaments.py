"""Signals and Crypto datasets: versions from the listing, folders per tournament and
version, a fresh live universe per round (the previous one kept), features.json."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from numerpilot.api.client import NumeraiClient
from numerpilot.config import Config
from numerpilot.credentials import Credentials
from numerpilot.data.download import download_dataset
from numerpilot.data.tournaments import LAYOUTS, read_universe
from numerpilot.sandbox import SandboxServer
from numerpilot.workdir import Workdir

LISTED = [
    "v5.2/train.parquet",
    "v5.3/live.parquet",
    "signals/v2.1/live.parquet",
    "signals/v1.0/train.parquet",
    "crypto/v2.0/live_universe.parquet",
    "readme.txt",
]


@pytest.mark.parametrize(
    ("tournament", "versions"),
    [("classic", {"v5.2", "v5.3"}), ("signals", {"v2.1", "v1.0"}), ("crypto", {"v2.0"})],
)
def test_each_tournament_sees_only_its_own_versions(tournament: str, versions: set[str]) -> None:
    spec = LAYOUTS[tournament]
    assert {v for v in map(spec.version_of, LISTED) if v} == versions


@pytest.mark.parametrize("tournament", ["signals", "crypto"])
def test_download_per_version_and_a_live_universe_per_round(
    tmp_path: Path, sandbox: SandboxServer, creds: Credentials, tournament: str
) -> None:
    client = NumeraiClient(creds, sandbox.url, tournament, timeout=2.0, retries=2, backoff=0.01)
    config = Config.model_validate({"submission": {"tournament": tournament}})
    work = Workdir(tmp_path)
    spec = LAYOUTS[tournament]
    version = client.newest_version()
    folder = download_dataset(work, config, client)
    assert folder == tmp_path / "data" / tournament / version
    assert {p.name for p in folder.iterdir()} >= {*spec.required, "features.json"}
    meta = json.loads((folder / "features.json").read_text())
    train = pd.read_parquet(folder / "train.parquet")
    assert meta["feature_sets"]["all"] == [c for c in train.columns if c.startswith("feature_")]
    assert meta["targets"] == ["target"]
    first = read_universe(folder, tournament)
    number = client.current_round().number
    sandbox.clock.advance(timedelta(days=1))
    download_dataset(work, config, client)
    second = read_universe(folder, tournament)
    kept = folder / spec.live.replace(".parquet", f"_round{number}.parquet")
    assert kept.exists() and read_universe(folder, tournament).equals(second)
    ids = spec.id_columns[0]
    assert set(first[ids]) != set(second[ids])  # the universe changes a little per round
    assert len(set(first[ids]) & set(second[ids])) > 0.9 * len(first)
