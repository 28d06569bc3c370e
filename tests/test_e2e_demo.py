"""``numerpilot run --demo`` as a user runs it: a fresh folder, no keys, no network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from numerai_tools.submissions import validate_submission_numerai

SMALL_DEMO = """\
[demo]
train_eras = 60
validation_eras = 20
rows_per_era = 150
n_features = 48
live_rows = 50
n_estimators = 60
holdout_eras = 10
early_stopping_rounds = 20
"""


def numerpilot(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMERAI_")}
    env["NUMERPILOT_API_URL"] = "http://127.0.0.1:9"  # nothing may reach a real host
    return subprocess.run(
        [sys.executable, "-m", "numerpilot", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.mark.e2e
def test_run_demo_end_to_end(tmp_path: Path) -> None:
    assert numerpilot(tmp_path, "init").returncode == 0
    config = tmp_path / "numerpilot.toml"
    config.write_text(config.read_text().split("[demo]")[0] + SMALL_DEMO)
    done = numerpilot(tmp_path, "run", "--demo")
    assert done.returncode == 0, done.stderr
    assert "Done. Validation CORR" in done.stdout
    assert (tmp_path / "models" / "manifest.json").exists()
    report = json.loads((tmp_path / "reports" / "validation.json").read_text())
    assert report["ensemble"]["summary"]["n_eras"] == 20 - 4
    assert report["main_target"] == "target" and "summary" in report["target"]
    # the setting the user changes for --demo: the note named train.embargo_eras
    assert "overlap train's last eras (demo.embargo_eras)" in " ".join(done.stdout.split())
    sub = pd.read_csv(tmp_path / "predictions" / "live_predictions.csv")
    live = pd.read_parquet(tmp_path / "data" / "demo" / "live.parquet")
    validate_submission_numerai(pd.Series(live.index), sub)
    # A second run reuses the demo data instead of generating it again.
    stamp = (tmp_path / "data" / "demo" / "train.parquet").stat().st_mtime_ns
    assert numerpilot(tmp_path, "run", "--demo").returncode == 0
    assert (tmp_path / "data" / "demo" / "train.parquet").stat().st_mtime_ns == stamp


@pytest.mark.e2e
def test_demo_data_command_writes_numerai_layout(tmp_path: Path) -> None:
    args = ["--train-eras", "12", "--validation-eras", "4", "--rows-per-era", "60",
            "--features", "24", "--live-rows", "12", "--seed", "5"]  # fmt: skip
    done = numerpilot(tmp_path, "demo-data", "out", *args)
    assert done.returncode == 0, done.stderr
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"train.parquet", "validation.parquet", "live.parquet", "features.json",
            "meta_model.parquet", "validation_benchmark_models.parquet",
            "live_benchmark_models.parquet"} <= names  # fmt: skip
    bad = numerpilot(tmp_path, "demo-data", "out2", "--features", "3")
    assert bad.returncode == 2 and "--features must be at least" in bad.stderr


def test_the_sandbox_demo_forgets_the_submissions_of_an_earlier_run(tmp_path: Path) -> None:
    """`make demo` a second time sent nothing and failed: its fresh sandbox starts at the
    same round, which the earlier run's ledger held as submitted."""
    from numerpilot.sandbox.demo import forget_earlier_runs
    from numerpilot.submission.ledger import Ledger
    from numerpilot.workdir import Workdir

    ledger = Ledger(Workdir(tmp_path).state_db)
    ledger.mark("classic", "sandbox_model", "id-1", 869, "submitted", submission_id="s-1")
    assert ledger.get("classic", "id-1", 869) is not None
    forget_earlier_runs(tmp_path, tmp_path / "signals")  # a folder without one is fine
    assert ledger.get("classic", "id-1", 869) is None
    assert not list(tmp_path.glob("state.db*"))
