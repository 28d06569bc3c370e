"""Deploy fixtures: a trained demo work dir, its pickle, and the shared runtime replica."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from numerpilot.cli.commands import app
from numerpilot.model_upload.build import BuiltUpload, build_upload
from numerpilot.model_upload.images import image_for, python_minor
from numerpilot.model_upload.replica import ensure_replica

DEMO_TOML = """\
[demo]
train_eras = 40
validation_eras = 16
rows_per_era = 100
n_features = 48
live_rows = 60
n_estimators = 20
holdout_eras = 8

[train]
weights = [1.0, 0.5, 0.3, 0.2]
"""


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A work dir after ``numerpilot run --demo`` (models, demo data, live predictions)."""
    root = tmp_path_factory.mktemp("trained")
    (root / "numerpilot.toml").write_text(DEMO_TOML, encoding="utf-8")
    result = CliRunner().invoke(app, ["run", "--demo", "-C", str(root)])
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture(scope="session")
def live_file(trained_dir: Path) -> Path:
    return trained_dir / "data" / "demo" / "live.parquet"


@pytest.fixture(scope="session")
def built(trained_dir: Path) -> BuiltUpload:
    return build_upload(trained_dir / "models", trained_dir / "model.pkl")


@pytest.fixture(scope="session")
def replica_python() -> Path:
    """The replica of this Python's runtime image, as ``check-upload`` uses it: built from
    PyPI once per machine in numerpilot's cache (``NUMERPILOT_CACHE`` moves it) and reused
    by every later test session."""
    return ensure_replica(image_for(python_minor()))


@contextlib.contextmanager
def folder_held_elsewhere(folder: Path) -> Iterator[None]:
    """Another process (a Python) holds ``folder``'s flock while the block runs, as a
    running build or check would."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys, time; fd = os.open(sys.argv[1], "
         "os.O_RDONLY); fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); "
         "time.sleep(120)", str(folder)], stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        yield
    finally:
        holder.kill()
        holder.wait()
