"""A work directory with a real-data layout (data/v5.2) holding the small synthetic set."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import Numerpilot

FAST_CONFIG = """\
[data]
feature_set = "medium"
era_step = 1

[train]
targets = ["target", "target_teager2b_20"]
holdout_eras = 8
embargo_eras = 2
early_stopping_rounds = 10

[lightgbm]
n_estimators = 40
learning_rate = 0.1
colsample_bytree = 0.5
num_threads = 1
"""

#: The tests' LocalClusters: 2 workers, whatever the machine.
TWO_WORKERS = "\n[cluster]\nworkers = 2\n"

CliRunner = Callable[..., tuple[int, str]]


def make_workdir(root: Path, synthetic_dir: Path, config: str = FAST_CONFIG) -> Path:
    shutil.copytree(synthetic_dir, root / "data" / "v5.2")
    (root / "numerpilot.toml").write_text(config)
    return root


@pytest.fixture
def workdir(tmp_path: Path, synthetic_dir: Path) -> Path:
    return make_workdir(tmp_path / "wd", synthetic_dir)


@pytest.fixture
def cli(numerpilot: Numerpilot) -> CliRunner:
    """``numerpilot ARGS`` in-process: (exit code, stdout and stderr together)."""

    def run(*args: str) -> tuple[int, str]:
        outcome = numerpilot(*args)
        return outcome.code, outcome.out + outcome.err

    return run
