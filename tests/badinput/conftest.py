"""Work directories for the bad-input catalogue: untrained, and trained once per session."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.conftest import child_env
from tests.pipeline.conftest import FAST_CONFIG, make_workdir
from tests.support.catalogue import Outcome

from numerpilot.pipeline.context import Context
from numerpilot.pipeline.predict import predict_live
from numerpilot.pipeline.train import train_ensemble
from numerpilot.pipeline.validate import validate_ensemble
from numerpilot.workdir import Workdir

CHILD = Path(__file__).parents[1] / "support" / "interrupt_child.py"


@pytest.fixture
def fresh(tmp_path: Path, synthetic_dir: Path) -> Path:
    """A work dir with data (``data/v5.2``) and a fast config, nothing trained."""
    return make_workdir(tmp_path / "wd", synthetic_dir)


@pytest.fixture(scope="session")
def trained_template(tmp_path_factory: pytest.TempPathFactory, synthetic_dir: Path) -> Path:
    """Trained, validated and predicted once; tests get copies."""
    root = make_workdir(tmp_path_factory.mktemp("trained") / "wd", synthetic_dir)
    ctx = Context.load(Workdir(root))
    train_ensemble(ctx)
    validate_ensemble(ctx)
    predict_live(ctx)
    return root


@pytest.fixture
def trained(tmp_path: Path, trained_template: Path) -> Path:
    """A copy of the trained work dir (models, reports, predictions)."""
    return Path(shutil.copytree(trained_template, tmp_path / "wd"))


def write_config(root: Path, extra: str) -> None:
    (root / "numerpilot.toml").write_text(FAST_CONFIG + "\n" + extra, encoding="utf-8")


def interrupted(
    where: str, *args: str, tmp_path: Path, signum: int = signal.SIGINT, **env: str
) -> Outcome:
    """Run numerpilot held at ``where`` (see interrupt_child), press Ctrl-C there (or send
    ``signum``); ``env``: more of the child's environment."""
    ready = tmp_path / "ready"
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(ready), where, *args],
        env=child_env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        while not ready.exists():
            if child.poll() is not None:
                out, err = child.communicate()
                pytest.fail(f"exited {child.returncode} before reaching {where}: {err}")
            time.sleep(0.02)
        child.send_signal(signum)
        ready.unlink()
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return Outcome(child.returncode, out, err)
