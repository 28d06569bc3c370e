"""XGBoost members stop early by the same smoothed rule as LightGBM's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from numerpilot.config import Config
from numerpilot.data import layout
from numerpilot.data.catalog import feature_set
from numerpilot.data.load import EraData, load_era_data
from numerpilot.modeling.cv import holdout_split
from numerpilot.modeling.lgbm import SmoothedRule
from numerpilot.modeling.members import Member

pytest.importorskip("xgboost")

ROUNDS = 300
PATIENCE = 40


@pytest.fixture(scope="module")
def train_data(synthetic_dir: Path) -> EraData:
    return load_era_data(
        synthetic_dir / layout.TRAIN, feature_set(synthetic_dir, "medium"), ["target"]
    )


def _replay(curve: tuple[float, ...]) -> tuple[int, int]:
    """(the round the rule chooses, the round it stops at) for a holdout curve."""
    rule = SmoothedRule(PATIENCE)
    for i, score in enumerate(curve, start=1):
        if rule.update(score, ROUNDS):
            return rule.best_iteration, i
    return rule.best_iteration, len(curve)


def test_xgboost_members_choose_their_tree_count_on_the_smoothed_score(
    train_data: EraData,
) -> None:
    """XGBoost's own early stopping took the round of the raw curve's highest point: on a
    few holdout eras, an early spike (here the first round, where the smoothed rule takes 5)."""
    from numerpilot.modeling.xgb import fit_xgboost

    cfg = Config.model_validate(
        {"lightgbm": {"n_estimators": ROUNDS, "learning_rate": 0.1, "num_threads": 1},
         "model": {"backend": "xgboost"}}
    )  # fmt: skip
    split = holdout_split(train_data.eras, holdout=8, embargo=2)
    fitted = fit_xgboost(
        train_data.features, train_data.target("target"), train_data.eras,
        member=Member("target", "target", 0, 1.0), feature_names=list(train_data.feature_names),
        cfg=cfg, split=split, early_stopping_rounds=PATIENCE,
    )  # fmt: skip
    best, stopped = _replay(fitted.curve)
    assert (fitted.best_iteration, len(fitted.curve)) == (best, stopped)
    assert fitted.holdout_score == fitted.curve[best - 1]
    assert best != int(np.argmax(fitted.curve)) + 1  # the raw peak: what it chose before
