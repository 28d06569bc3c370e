from __future__ import annotations

from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from numerpilot.config import LightGBMConfig
from numerpilot.data import layout
from numerpilot.data.catalog import feature_set
from numerpilot.data.load import EraData, load_era_data
from numerpilot.errors import DataError
from numerpilot.modeling.cv import holdout_split, purged_era_folds
from numerpilot.modeling.lgbm import lgbm_params, mean_era_corr, train_target
from numerpilot.modeling.manifest import Manifest, load_manifest
from numerpilot.modeling.store import load_bundle, save_bundle

ERAS = np.array([f"{e:04d}" for e in range(1, 21)])


def test_holdout_split_leaves_an_embargo() -> None:
    split = holdout_split(np.repeat(ERAS, 3), holdout=5, embargo=3)
    assert list(split.holdout) == list(ERAS[-5:])
    assert list(split.fit) == list(ERAS[:12])


def test_holdout_split_refuses_too_few_eras() -> None:
    with pytest.raises(DataError, match="too few.*holdout_eras"):
        holdout_split(ERAS, holdout=15, embargo=5)


def test_purged_folds_cover_every_era_once_and_purge_neighbours() -> None:
    folds = purged_era_folds(ERAS, n_folds=4, embargo=2)
    tested = np.concatenate([f.holdout for f in folds])
    assert sorted(tested) == sorted(ERAS)
    for fold in folds:
        positions = np.searchsorted(ERAS, fold.holdout)
        fit_positions = np.searchsorted(ERAS, fold.fit)
        gap = np.abs(fit_positions[:, None] - positions[None, :]).min()
        assert gap > 2


def test_mean_era_corr_equals_pandas() -> None:
    rng = np.random.default_rng(1)
    pred, y, codes = rng.normal(size=90), rng.normal(size=90), np.repeat([0, 1, 2], 30)
    frame = pd.DataFrame({"p": pred, "y": y, "e": codes})
    expected = frame.groupby("e").apply(lambda d: d.p.corr(d.y)).mean()
    assert mean_era_corr(pred, y, codes) == pytest.approx(expected, abs=1e-12)


@pytest.fixture(scope="module")
def train_data(synthetic_dir: Path) -> EraData:
    return load_era_data(
        synthetic_dir / layout.TRAIN,
        feature_set(synthetic_dir, "medium"),
        ["target", "target_teager2b_20"],
    )


CFG = LightGBMConfig(n_estimators=40, learning_rate=0.1, colsample_bytree=0.5, num_threads=1)


@pytest.mark.filterwarnings("ignore:Usage of np.ndarray subset")
def test_int8_sequence_training_equals_float_matrix_training(train_data: EraData) -> None:
    model = train_target(
        train_data.features, train_data.target("target"), train_data.eras, target="target",
        feature_names=train_data.feature_names, cfg=CFG, split=None,
    )  # fmt: skip
    dense = lgb.Dataset(train_data.features.astype(np.float64), train_data.target("target"))
    reference = lgb.train(lgbm_params(CFG), dense, num_boost_round=CFG.n_estimators)
    np.testing.assert_allclose(
        model.booster.predict(train_data.features.astype(np.float32)),
        reference.predict(train_data.features.astype(np.float64)),
        atol=1e-10,
    )


def test_early_stopping_and_nan_targets(train_data: EraData) -> None:
    y = train_data.target("target_teager2b_20")
    assert np.isnan(y).any()
    split = holdout_split(train_data.eras, holdout=8, embargo=2)
    cfg = CFG.model_copy(update={"n_estimators": 400})
    model = train_target(
        train_data.features, y, train_data.eras, target="target_teager2b_20",
        feature_names=train_data.feature_names, cfg=cfg, split=split, early_stopping_rounds=20,
    )  # fmt: skip
    assert 1 <= model.best_iteration < 400
    assert model.booster.current_iteration() < 400
    # The recorded score is the mean per-era Pearson on the holdout at the chosen round.
    rows = ~np.isnan(y) & np.isin(train_data.eras, split.holdout)
    x = train_data.features[rows].astype(np.float32)
    frame = pd.DataFrame(
        {"p": model.booster.predict(x), "y": y[rows], "era": train_data.eras[rows]}
    )
    expected = frame.groupby("era").apply(lambda d: d.p.corr(d.y)).mean()
    assert model.holdout_score == pytest.approx(expected, abs=1e-6)


def _one_model(data: EraData) -> tuple[Any, Manifest]:
    """A booster of the main target and its manifest (cut at 25 trees)."""
    model = train_target(
        data.features, data.target("target"), data.eras, target="target",
        feature_names=data.feature_names, cfg=CFG, split=None,
    )  # fmt: skip
    manifest = Manifest(
        data_version="v5.2", feature_set="medium", features=data.feature_names,
        targets=["target"], weights=[1.0], params=lgbm_params(CFG),
        best_iterations={"target": 25}, holdout_scores={"target": None},
    )  # fmt: skip
    return model, manifest


def test_bundle_round_trip_keeps_best_iteration(train_data: EraData, tmp_path: Path) -> None:
    model, manifest = _one_model(train_data)
    save_bundle(tmp_path, manifest, {"target": model.booster})
    bundle = load_bundle(tmp_path)
    assert bundle.manifest == manifest
    assert bundle.manifest.versions["lightgbm"] == lgb.__version__
    assert bundle.models["target"].current_iteration() == 25
    x = train_data.features[:50].astype(np.float32)
    np.testing.assert_allclose(
        bundle.models["target"].predict(x), model.booster.predict(x, num_iteration=25)
    )


def test_ctrl_c_after_the_publish_keeps_the_bundle_in_use(
    train_data: EraData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while old bundle folders were removed (after manifest.json named the new
    one) removed the new bundle too: manifest.json named a folder that was gone."""
    from numerpilot.modeling import store

    model, manifest = _one_model(train_data)

    def interrupted(folder: Path, current: Manifest) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "_remove_old_bundles", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_bundle(tmp_path, manifest, {"target": model.booster})
    assert load_bundle(tmp_path).models["target"].current_iteration() == 25


def test_missing_bundle_says_to_train(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="numerpilot train"):
        load_manifest(tmp_path)
