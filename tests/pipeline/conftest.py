"""A work directory with a real-data layout (data/v5.2) holding the small synthetic set."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from numerpilot.cli import main

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

CliRunner = Callable[..., tuple[int, str]]


def make_workdir(root: Path, synthetic_dir: Path, config: str = FAST_CONFIG) -> Path:
    shutil.copytree(synthetic_dir, root / "data" / "v5.2")
    (root / "numerpilot.toml").write_text(config)
    return root


@pytest.fixture
def workdir(tmp_path: Path, synthetic_dir: Path) -> Path:
    return make_workdir(tmp_path / "wd", synthetic_dir)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """Run ``numerpilot ARGS`` in-process through its real entry point: (exit code, output)."""

    def run(*args: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["numerpilot", *args])
        monkeypatch.setenv("COLUMNS", "200")
        code = 0
        try:
            main()
        except SystemExit as done:
            code = int(done.code or 0)
        out = capsys.readouterr()
        return code, out.out + out.err

    return run
