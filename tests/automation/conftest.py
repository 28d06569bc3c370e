"""A work directory ready for the daemon: sandbox data downloaded, small models trained."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.pipeline.conftest import FAST_CONFIG

from numerpilot.api.client import NumeraiClient
from numerpilot.config_file import load_config
from numerpilot.data.download import download_dataset
from numerpilot.pipeline.context import Context
from numerpilot.pipeline.train import train_ensemble
from numerpilot.workdir import Workdir

DAEMON_CONFIG = (
    FAST_CONFIG
    + """
[submission]
models = ["sandbox_model", "sandbox_model_2"]
# rounds of a few seconds: an unsure upload is sent again after a poll (the sandbox lists
# what it made at once)
unsure_wait_seconds = 0.5

[api]
timeout = 1.0
retries = 4
backoff = 0.05

[daemon]
poll_seconds = 0.5
lead_seconds = 0
max_sleep_seconds = 2
"""
)


def ready_workdir(root: Path, client: NumeraiClient, extra: str = "") -> Workdir:
    """Config, data of the sandbox's newest version, and trained models in ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "numerpilot.toml").write_text(DAEMON_CONFIG + extra)
    work = Workdir(root)
    config = load_config(work.config_path)
    download_dataset(work, config, client)
    train_ensemble(Context(work, config))
    return work


@pytest.fixture
def daemon_dir(tmp_path: Path, client: NumeraiClient) -> Workdir:
    return ready_workdir(tmp_path / "wd", client)
