"""cv refusals caused by the gap before each test block (purge + embargo) say so, and name
where the purge comes from: cv.purge_eras, or a target's horizon (a compared config's too)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.conftest import Numerpilot
from tests.pipeline.conftest import FAST_CONFIG, make_workdir
from tests.support.catalogue import Refused

from numerpilot.errors import DataError
from numerpilot.modeling.cv import era_folds

#: A fold needs 18 training eras for this holdout (14 + 2 embargo + 2 to fit on): the first
#: of 2 folds of 4 test eras has 24 of the 40 eras behind a purge of 8, 16 behind one of 16.
HOLDOUT_14 = FAST_CONFIG.replace("holdout_eras = 8", "holdout_eras = 14\ncv_folds = 0")
CV = "\n[cv]\nfolds = 2\ntest_eras = 4\n"
NARROW = "leave fewer eras out before each test block"


def test_a_gap_too_wide_for_any_training_era_says_to_narrow_it() -> None:
    eras = np.array([f"{e:04d}" for e in range(1, 41)])
    with pytest.raises(DataError) as caught:  # 30 of 40 eras before the tests, all purged
        era_folds(eras, n_folds=2, purge=30, test_eras=5, era_step=1)
    message = " ".join(str(caught.value).split())
    assert "lower cv.folds or cv.test_eras, or leave fewer eras out before each test block: " \
        "a smaller cv.purge_eras or cv.embargo_eras" in message  # fmt: skip
    with pytest.raises(DataError) as caught:  # too many folds: no test era at all
        era_folds(eras, n_folds=50, purge=2, era_step=1)
    assert NARROW not in str(caught.value)


@pytest.mark.bad_input("cv", "the compared config's 60-day target purges a fold's eras away")
def test_a_purge_from_the_compared_configs_target_is_named(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, synthetic_dir: Path
) -> None:
    """This config's folds hold its holdout behind its 20-day purge (8 eras); the other
    config's 60-day target makes it 16 for both, and the fold is too short: the error said
    only to change the test eras, never the purge, nor that the other config set it."""
    wd = make_workdir(tmp_path / "wd", synthetic_dir, HOLDOUT_14 + CV)
    other = tmp_path / "other.toml"
    other.write_text(HOLDOUT_14.replace('"target_teager2b_20"', '"target_ender_60"'))
    refused(numerpilot("cv", "-C", str(wd), "--compare", str(other)), 1,
            "the training eras of cv fold 1/2 (0001 to 0016)",
            f"{NARROW}, now 16 purged (target_ender_60's horizon, a target of the compared "
            "config) + 0 embargo: a smaller cv.purge_eras or cv.embargo_eras")  # fmt: skip
    assert not (wd / "reports" / "cv.json").exists()


@pytest.mark.bad_input("cv", "cv.purge_eras leaves a fold too few training eras")
def test_a_purge_set_by_hand_is_named(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, synthetic_dir: Path
) -> None:
    wd = make_workdir(tmp_path / "wd", synthetic_dir, HOLDOUT_14 + CV + "purge_eras = 15\n")
    refused(numerpilot("cv", "-C", str(wd)), 1, "the training eras of cv fold 1/2",
            f"{NARROW}, now 15 purged (cv.purge_eras) + 0 embargo")  # fmt: skip
