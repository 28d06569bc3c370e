"""A dataset of your own in Numerai's layout (``data.dir`` at its folder), broken as files a
user writes by hand are: the refusal names the file, the column, a value and what to do."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.conftest import Numerpilot
from tests.pipeline.conftest import FAST_CONFIG
from tests.support.catalogue import Refused

from numerpilot.data import layout

#: FAST_CONFIG with data.dir at the dataset of your own, every feature_ column.
OWN_CONFIG = FAST_CONFIG.replace('feature_set = "medium"', 'dir = "mine"\nfeature_set = "all"')


@pytest.fixture
def own(tmp_path: Path, synthetic_dir: Path) -> Path:
    """A work dir whose data.dir (``mine``) holds Numerai's files themselves, no version."""
    root = tmp_path / "wd"
    shutil.copytree(synthetic_dir, root / "mine")
    (root / "numerpilot.toml").write_text(OWN_CONFIG, encoding="utf-8")
    return root


def _feature(path: Path) -> str:
    return next(c for c in pd.read_parquet(path).columns if c.startswith("feature_"))


@pytest.mark.bad_input("train", "a dataset of your own with an int8 feature outside 0..4")
def test_feature_outside_0_to_4_is_named(
    numerpilot: Numerpilot, refused: Refused, own: Path
) -> None:
    """It said only 'train.parquet has feature values outside 0..4'."""
    path = own / "mine" / layout.TRAIN
    frame, name = pd.read_parquet(path), _feature(path)
    frame.iloc[11, frame.columns.get_loc(name)] = np.int8(5)
    frame.to_parquet(path)
    refused(numerpilot("train", "-C", str(own)), 1, f"train.parquet: feature {name} holds 5;",
            "whole numbers 0..4")  # fmt: skip
    assert not (own / "models").exists()


@pytest.mark.bad_input("train", "a dataset of your own without the configured targets")
def test_targets_the_file_lacks(numerpilot: Numerpilot, refused: Refused, own: Path) -> None:
    """It said to choose targets from features.json's 'targets', which such a dataset may
    not have."""
    (own / "mine" / layout.FEATURES_JSON).unlink()
    path = own / "mine" / layout.TRAIN
    frame = pd.read_parquet(path)
    frame.drop(columns=["target_teager2b_20"]).to_parquet(path)
    line = refused(numerpilot("train", "-C", str(own)), 1, "lacks 1 targets (target_teager2b_20)",
                   "Set train.targets to target columns train.parquet has (target, ")  # fmt: skip
    assert "features.json's 'targets' (config" not in line


@pytest.mark.bad_input("validate", "a dataset of your own without validation.parquet")
def test_missing_file_of_own_dataset(numerpilot: Numerpilot, refused: Refused, own: Path) -> None:
    """It said to run 'numerpilot download', which refuses such a data.dir."""
    assert numerpilot("train", "-C", str(own)).code == 0
    (own / "mine" / layout.VALIDATION).unlink()
    said = "holds a dataset of your own (data.dir): put validation.parquet there"
    line = refused(numerpilot("validate", "-C", str(own)), 1, "validation.parquet is missing", said)
    assert "to fetch" not in line
    path = own / "mine" / layout.LIVE
    pd.read_parquet(path).iloc[:0].to_parquet(path)
    refused(numerpilot("predict", "-C", str(own)), 1, "live.parquet has no rows",
            "write live.parquet again with its rows")  # fmt: skip
    assert not (own / "predictions" / "live_predictions.csv").exists()


@pytest.mark.bad_input("validate", "validation.parquet without the main target")
def test_validation_without_main_target(
    numerpilot: Numerpilot, refused: Refused, own: Path
) -> None:
    """It said to set train.targets, which cannot leave out 'target'."""
    assert numerpilot("train", "-C", str(own)).code == 0
    path = own / "mine" / layout.VALIDATION
    frame = pd.read_parquet(path)
    frame[[c for c in frame.columns if not c.startswith("target")]].to_parquet(path)
    refused(numerpilot("validate", "-C", str(own)), 1, "validation.parquet has no 'target' "
            "column, Numerai's main target", "Name your main target column 'target'")  # fmt: skip


@pytest.mark.bad_input("train", "features.json naming a feature twice in a set")
def test_feature_named_twice(numerpilot: Numerpilot, refused: Refused, own: Path) -> None:
    """It ended in a traceback: IndexError: index out of bounds."""
    path = own / "mine" / layout.FEATURES_JSON
    meta = json.loads(path.read_text())
    meta["feature_sets"]["all"].append(meta["feature_sets"]["all"][3])
    path.write_text(json.dumps(meta))
    refused(numerpilot("train", "-C", str(own)), 1, "feature set 'all' in", "features.json "
            f"names {meta['feature_sets']['all'][3]} more than once")  # fmt: skip


def test_era_labels_with_spaces(numerpilot: Numerpilot, own: Path) -> None:
    """As text "10 " sorted before "2 ": train held out other eras than the newest, and
    validate took "9 " for train's last era, without a word."""
    for name in (layout.TRAIN, layout.VALIDATION):
        path = own / "mine" / name
        frame = pd.read_parquet(path)
        frame.assign(era=frame["era"].astype(int).astype(str) + " ").to_parquet(path)
    assert numerpilot("train", "-C", str(own)).code == 0
    done = numerpilot("validate", "-C", str(own))
    assert done.code == 0, done.err
    last = pd.read_parquet(own / "mine" / layout.TRAIN, columns=["era"])["era"].astype(int).max()
    said = " ".join((done.out + done.err).split())
    assert re.search(f"validation eras \\(0*{last + 1} to 0*{last + 2}\\) are not scored", said)
    assert "not after train's last era" not in said


@pytest.mark.bad_input("train", "a dataset of your own whose features.json is not JSON")
def test_broken_features_json(numerpilot: Numerpilot, refused: Refused, own: Path) -> None:
    """It said to download it again, which 'download' refuses for such a data.dir."""
    (own / "mine" / layout.FEATURES_JSON).write_text('{"feature_sets": {"all": [')
    line = refused(numerpilot("train", "-C", str(own)), 1, "features.json is not valid JSON",
                   'fix it (Numerai\'s layout: {"feature_sets"', "or delete it and set "
                   'data.feature_set = "all"')  # fmt: skip
    assert "download" not in line
