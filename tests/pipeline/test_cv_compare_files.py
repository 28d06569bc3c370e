"""``cv --compare`` with a compared config that cannot be used: the error names it as the
other config and says what to do with that file, never with this work directory's."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from tests.conftest import Numerpilot
from tests.pipeline.conftest import FAST_CONFIG, make_workdir
from tests.support.catalogue import Refused

from numerpilot.data import layout

CV = "\n[cv]\nfolds = 2\ntest_eras = 4\n"


@pytest.fixture
def cv_workdir(tmp_path: Path, synthetic_dir: Path) -> Path:
    return make_workdir(tmp_path / "wd", synthetic_dir, FAST_CONFIG + CV)


@pytest.mark.bad_input("cv", "`--compare` a file that is not valid TOML")
def test_a_broken_compared_config_is_not_fixed_by_recreating_this_one(
    numerpilot: Numerpilot, refused: Refused, cv_workdir: Path, tmp_path: Path
) -> None:
    """The advice was 're-create it with numerpilot init --force', which overwrites this
    work directory's numerpilot.toml and leaves the broken compared file as it was."""
    other = tmp_path / "other.toml"
    other.write_text("[train\ntargets = ['target']\n")
    line = refused(numerpilot("cv", "-C", str(cv_workdir), "--compare", str(other)), 1,
                   f"--compare {other} (the other config): {other}: not valid TOML",
                   "Fix the file or give --compare another config.")  # fmt: skip
    assert "numerpilot init" not in line
    assert not (cv_workdir / "reports" / "cv.json").exists()


def test_a_compared_config_with_targets_the_data_lacks_is_named_as_the_other(
    numerpilot: Numerpilot, refused: Refused, cv_workdir: Path, tmp_path: Path
) -> None:
    """Its error began '--compare:' and named the file at its end, unlike every other
    mistake of the compared config; it gave no way out. (The bad-input catalogue has this
    case: tests/badinput/test_config_values.py.)"""
    other = tmp_path / "other.toml"
    other.write_text(FAST_CONFIG.replace('"target_teager2b_20"', '"target_nope_20"'))
    refused(numerpilot("cv", "-C", str(cv_workdir), "--compare", str(other)), 1,
            f"--compare {other} (the other config): train.parquet lacks the targets "
            "target_nope_20 of its train.targets", "set train.targets in it to targets of "
            "the data")  # fmt: skip
    assert not (cv_workdir / "reports" / "cv.json").exists()


@pytest.mark.bad_input(
    "cv", "`--compare` a config with a target unknown in a fold's training eras (before any fit)"
)
def test_a_compared_target_unknown_in_a_folds_training_eras_is_refused_before_any_fit(
    numerpilot: Numerpilot, refused: Refused, cv_workdir: Path, tmp_path: Path
) -> None:
    """A newer target, unknown in the early eras: this config's folds were all fitted,
    then the other config stopped at its first fold, saying 'remove it from train.targets'
    without saying whose (this config does not train on it)."""
    path = cv_workdir / "data" / "v5.2" / layout.TRAIN
    frame = pd.read_parquet(path)
    early = frame["era"] <= sorted(frame["era"].unique())[25]  # fold 1 trains on 0001-0024
    frame.loc[early, "target_agnes_20"] = float("nan")
    frame.to_parquet(path)
    this = FAST_CONFIG.replace(', "target_teager2b_20"', "") + CV  # "target" alone
    (cv_workdir / "numerpilot.toml").write_text(this)
    other = tmp_path / "other.toml"
    other.write_text(FAST_CONFIG.replace('"target_teager2b_20"', '"target_agnes_20"'))
    outcome = numerpilot("cv", "-C", str(cv_workdir), "--compare", str(other))
    refused(outcome, 1, f"--compare {other} (the other config): target 'target_agnes_20' has "
            "no known values in the training eras of cv fold 1/2")  # fmt: skip
    assert "Cross-validating" not in outcome.out + outcome.err  # nothing was fitted
    assert not (cv_workdir / "reports" / "cv.json").exists()
