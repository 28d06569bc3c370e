"""Bad input gives one clear line, exit code 1, and leaves no partial output behind."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from tests.pipeline.conftest import FAST_CONFIG, CliRunner

from numerpilot.data import layout


def _no_tracebacks(out: str) -> None:
    assert "Traceback" not in out
    assert out.count("Error:") == 1


def test_missing_data(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "numerpilot.toml").write_text(FAST_CONFIG)
    code, out = cli("train", "-C", str(tmp_path))
    assert code == 1
    assert "no dataset in" in out and "numerpilot download" in out
    _no_tracebacks(out)
    assert not (tmp_path / "models").exists()


def test_missing_train_file(cli: CliRunner, workdir: Path) -> None:
    (workdir / "data" / "v5.2" / layout.TRAIN).unlink()
    code, out = cli("train", "-C", str(workdir))
    assert code == 1 and "train.parquet is missing" in out
    _no_tracebacks(out)


def test_feature_set_not_in_features_json(cli: CliRunner, workdir: Path) -> None:
    (workdir / "numerpilot.toml").write_text(FAST_CONFIG.replace('"medium"', '"gigantic"'))
    code, out = cli("train", "-C", str(workdir))
    assert code == 1
    assert "feature set 'gigantic'" in out and "data.feature_set" in out
    _no_tracebacks(out)


def test_target_not_in_data(cli: CliRunner, workdir: Path) -> None:
    config = FAST_CONFIG.replace('"target_teager2b_20"', '"target_unknown_20"')
    (workdir / "numerpilot.toml").write_text(config)
    code, out = cli("train", "-C", str(workdir))
    assert code == 1 and "target_unknown_20" in out and "train.targets" in out
    _no_tracebacks(out)
    assert not (workdir / "models").exists()


def test_live_without_model_features(cli: CliRunner, workdir: Path) -> None:
    assert cli("train", "-C", str(workdir))[0] == 0
    live_path = workdir / "data" / "v5.2" / layout.LIVE
    live = pd.read_parquet(live_path)
    medium = json.loads((live_path.parent / layout.FEATURES_JSON).read_text())["feature_sets"][
        "medium"
    ]
    live.drop(columns=medium[:5]).to_parquet(live_path)
    code, out = cli("predict", "-C", str(workdir))
    assert code == 1
    assert "live.parquet lacks 5 model features" in out and "retrain" in out
    _no_tracebacks(out)
    assert not (workdir / "predictions").exists()


def test_empty_live_file(cli: CliRunner, workdir: Path) -> None:
    assert cli("train", "-C", str(workdir))[0] == 0
    live_path = workdir / "data" / "v5.2" / layout.LIVE
    pd.read_parquet(live_path).iloc[:0].to_parquet(live_path)
    code, out = cli("predict", "-C", str(workdir))
    assert code == 1 and "live.parquet has no rows" in out
    assert not (workdir / "predictions").exists()


def test_empty_era_in_validation_is_skipped_and_counted(cli: CliRunner, workdir: Path) -> None:
    assert cli("train", "-C", str(workdir))[0] == 0
    val_path = workdir / "data" / "v5.2" / layout.VALIDATION
    val = pd.read_parquet(val_path)
    last = val.era.max()
    val.loc[val.era == last, "target"] = float("nan")
    val.to_parquet(val_path)
    code, out = cli("validate", "-C", str(workdir))
    assert code == 0
    report = json.loads((workdir / "reports" / "validation.json").read_text())
    assert last not in report["ensemble"]["per_era"]["corr"]
    assert "1 eras skipped (targets or predictions missing)" in out and last in out


def test_bad_config_is_a_user_error(cli: CliRunner, workdir: Path) -> None:
    (workdir / "numerpilot.toml").write_text("[lightgbm]\nlearning_rte = 0.1\n")
    code, out = cli("train", "-C", str(workdir))
    assert code == 1 and "unknown key 'lightgbm.learning_rte'" in out


def test_init_refuses_to_overwrite(cli: CliRunner, tmp_path: Path) -> None:
    assert cli("init", str(tmp_path))[0] == 0
    code, out = cli("init", str(tmp_path))
    assert code == 2 and "--force" in out
    assert cli("init", str(tmp_path), "--force")[0] == 0
