"""The default recipe: tree count chosen on the holdout, refit on every era, fitted weights,
and a memory check before anything is loaded."""

from __future__ import annotations

import json
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest
from tests.conftest import Numerpilot
from tests.pipeline.conftest import make_workdir
from tests.support.catalogue import Refused

from numerpilot.config import Config
from numerpilot.data import layout
from numerpilot.data.catalog import feature_set
from numerpilot.data.load import load_era_data
from numerpilot.modeling.cv import holdout_split, purged_era_folds
from numerpilot.modeling.manifest import load_manifest
from numerpilot.modeling.members import FitJob, Member
from numerpilot.modeling.store import load_bundle
from numerpilot.modeling.tree_count import (
    best_round,
    capped,
    fold_curve,
    fold_tree_count,
    refit_trees,
)
from numerpilot.pipeline.context import Context
from numerpilot.pipeline.members import local_fitter
from numerpilot.pipeline.train import left_out, train_ensemble
from numerpilot.progress import SILENT
from numerpilot.workdir import Workdir

CONFIG = """\
[data]
feature_set = "medium"

[train]
targets = ["target", "target_teager2b_20", "target_ender_20"]
holdout_eras = 8
embargo_eras = 2
cv_folds = {folds}
early_stopping_rounds = 10
refit = {refit}

[lightgbm]
n_estimators = 60
learning_rate = 0.1
colsample_bytree = 0.5
num_threads = 1

[model]
seeds = [0]  # one member per target: these tests follow single models
"""


def _config(refit: bool = True, folds: int = 0) -> str:
    return CONFIG.format(refit=str(refit).lower(), folds=folds)


def _train(root: Path, synthetic_dir: Path, refit: bool) -> Context:
    make_workdir(root, synthetic_dir, _config(refit))
    ctx = Context.load(Workdir(root))
    train_ensemble(ctx)
    return ctx


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory, synthetic_dir: Path) -> Context:
    return _train(tmp_path_factory.mktemp("staged"), synthetic_dir, refit=False)


@pytest.fixture(scope="module")
def refitted(tmp_path_factory: pytest.TempPathFactory, synthetic_dir: Path) -> Context:
    return _train(tmp_path_factory.mktemp("refitted"), synthetic_dir, refit=True)


def test_refit_scales_the_chosen_tree_count_by_the_rows_added(
    staged: Context, refitted: Context
) -> None:
    before, after = load_manifest(staged.workdir.models), load_manifest(refitted.workdir.models)
    assert before.targets == after.targets and before.weights == after.weights
    data = load_era_data(staged.data_dir / layout.TRAIN, [], after.targets)
    split = holdout_split(data.eras, holdout=8, embargo=2)
    for target in after.targets:
        known = ~np.isnan(data.target(target))
        fit_rows = int((known & np.isin(data.eras, split.fit)).sum())
        expected = refit_trees(before.best_iterations[target], fit_rows, int(known.sum()))
        assert after.best_iterations[target] == expected > before.best_iterations[target]
    bundle = load_bundle(refitted.workdir.models)
    for target, booster in bundle.models.items():
        if target not in after.kinds:  # a tree model (the linear ones have no trees)
            assert booster.current_iteration() == after.best_iterations[target]


def test_fitted_weights_reach_the_payload(refitted: Context) -> None:
    bundle = load_bundle(refitted.workdir.models)
    m = bundle.manifest
    assert "target" in m.targets and set(m.targets) <= {
        "target", "target_teager2b_20", "target_ender_20"
    }  # fmt: skip
    assert all(w > 0 for w in m.weights) and sum(m.weights) == pytest.approx(1.0)
    assert bundle.payload["members"] == m.targets and bundle.payload["weights"] == m.weights
    saved = json.loads((refitted.workdir.models / "manifest.json").read_text())
    assert saved["weights"] == m.weights


def test_refit_is_skipped_when_nothing_is_chosen(tmp_path: Path, synthetic_dir: Path) -> None:
    config = _config().replace("early_stopping_rounds = 10", "early_stopping_rounds = 0")
    config = config.replace("refit = true", "refit = true\nweights = [1.0, 1.0, 0.0]")
    make_workdir(tmp_path / "wd", synthetic_dir, config)
    ctx = Context.load(Workdir(tmp_path / "wd"))
    manifest = train_ensemble(ctx)
    trees, linear = ["target", "target_teager2b_20"], ["target.linear", "target_teager2b_20.linear"]
    assert manifest.targets == trees + linear
    assert manifest.kinds == dict.fromkeys(linear, "linear")
    # A target's configured weight is split evenly between its trees and its linear model.
    assert manifest.weights == pytest.approx([0.5] * 4)
    assert manifest.best_iterations == {
        "target": 60,
        "target_teager2b_20": 60,
        **dict.fromkeys(linear, 0),
    }
    assert all(manifest.holdout_scores[t] is None for t in trees)
    assert all(-1 < manifest.holdout_scores[t] < 1 for t in linear)  # the penalty was chosen
    assert manifest.ensemble_holdout is None  # the weights were not fitted
    assert left_out(ctx.config, manifest) == ["target_ender_20", "target_ender_20.linear"]


def test_era_folds_choose_the_trees_and_the_weights(tmp_path: Path, synthetic_dir: Path) -> None:
    make_workdir(tmp_path / "wd", synthetic_dir, _config(folds=3))
    ctx = Context.load(Workdir(tmp_path / "wd"))
    manifest = train_ensemble(ctx)
    assert manifest.targets[0] == "target" and sum(manifest.weights) == pytest.approx(1.0)
    # Chosen on folds of ~2/3 of the eras, scaled by ~3/2 for the refit on all of them.
    trees = {t: n for t, n in manifest.best_iterations.items() if t not in manifest.kinds}
    assert trees and all(1 <= n <= 60 * 1.6 for n in trees.values()), manifest
    assert all(s is not None and -1 < s < 1 for s in manifest.holdout_scores.values()), manifest
    assert manifest.ensemble_holdout is not None and -1 < manifest.ensemble_holdout < 1
    groups = ["target", "target_teager2b_20", "target_ender_20"]
    groups += [f"{t}.linear" for t in groups]
    assert left_out(ctx.config, manifest) == [g for g in groups if g not in manifest.targets]


def test_the_cap_is_named_when_it_and_not_the_data_chose_the_count() -> None:
    rising = [tuple(np.linspace(0.0, 0.05 + k / 100, 100)) for k in range(3)]
    trees, _ = fold_tree_count(rising, 20)
    assert trees > 80 and capped(rising, trees, cap=100, early_stopping_rounds=20)
    # The data chose: the folds' mean peaked long before the cap (a fold may still have
    # improved by noise in its last rounds) ...
    peaked = [tuple(np.r_[np.linspace(0, 0.05, 30), np.full(70, 0.04)]) for _ in range(3)]
    trees, _ = fold_tree_count(peaked, 20)
    assert trees < 40 and not capped(peaked, trees, cap=100, early_stopping_rounds=20)
    # ... or a fold stopped early, or nothing was early-stopped at all.
    assert not capped([rising[0][:80], *rising[1:]], 80, cap=100, early_stopping_rounds=20)
    assert not capped(rising, 100, cap=100, early_stopping_rounds=0)


def test_train_warns_when_n_estimators_cut_the_folds_short(
    tmp_path: Path, synthetic_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = _config(folds=3).replace("n_estimators = 60", "n_estimators = 8")
    make_workdir(tmp_path / "wd", synthetic_dir, config.replace("0.1", "0.01", 1))
    with caplog.at_level("INFO", logger="numerpilot.pipeline.train"):
        train_ensemble(Context.load(Workdir(tmp_path / "wd")))
    # (each fold's score kept rising for its 8 rounds at this slow learning rate)
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("target: the held-out score was still improving at 8 trees, the most "
               "[lightgbm] n_estimators allows" in w for w in warned), warned  # fmt: skip
    chosen = [
        r.getMessage() for r in caplog.records if "trees chosen on held-out" in r.getMessage()
    ]
    assert len(chosen) == 3


def test_best_round_is_the_peak_of_the_moving_average() -> None:
    curve = np.array([0.0, 0.1, 0.5, 0.1, 0.4, 0.4, 0.4, 0.4, 0.2, 0.0])
    assert best_round(curve, 1) == 3  # the spike
    assert best_round(curve, 4) == 7  # the plateau: rounds 5-8, centred
    assert best_round(curve, 100) == len(curve) // 2 + 1


@pytest.mark.bad_input("train", "a job that would not fit in memory (`train.memory_gb = 0.01`)")
def test_train_refuses_a_job_that_would_not_fit(
    tmp_path: Path, synthetic_dir: Path, numerpilot: Numerpilot, refused: Refused
) -> None:
    config = _config().replace("refit = true", "refit = true\nmemory_gb = 0.01")
    root = make_workdir(tmp_path / "wd", synthetic_dir, config)
    line = refused(numerpilot("train", "-C", str(root)), 1, "but train.memory_gb allows 0.01 GiB")
    assert "would need about" in line
    assert not (root / "models").exists() or not any((root / "models").iterdir())


def test_fold_curve_averages_only_the_rounds_every_fold_reached() -> None:
    curves = [(0.1, 0.2, 0.3, 0.2), (0.3, 0.4), (0.0, 0.1, 0.5)]
    np.testing.assert_allclose(fold_curve(curves), [(0.1 + 0.3 + 0.0) / 3, (0.2 + 0.4 + 0.1) / 3])
    assert best_round(fold_curve(curves), 1) == 2


def _peaked(peak: int, length: int) -> tuple[float, ...]:
    """A held-out curve rising to its peak round, then falling, stopped at ``length``."""
    rounds = np.arange(1, length + 1)
    return tuple(float(v) for v in 0.05 - 0.0001 * np.abs(rounds - peak))


def test_the_folds_choose_the_count_over_the_rounds_every_fold_reached() -> None:
    """The count is where the mean of the folds' curves peaks, smoothed; a fold that
    stopped early ends the mean curve (past its stop, its score is not known)."""
    early = [_peaked(30, 50), _peaked(30, 80)]
    late = [_peaked(150, 200), _peaked(150, 220)]
    assert fold_tree_count(early, 0) == (50, pytest.approx(0.05 - 0.0001 * 20))
    assert fold_tree_count(early, 4)[0] == 30
    assert fold_tree_count(late, 4)[0] == 150
    trees, score = fold_tree_count([late[0], early[1]], 4)
    assert trees <= 80 and score == pytest.approx(
        float(np.mean([late[0][trees - 1], early[1][trees - 1]]))
    )


def test_a_fold_stops_early_and_keeps_every_round_it_fitted(synthetic_dir: Path) -> None:
    """Early stopping per fold: the fold model stops once its held-out score has not
    improved for the patience, and its text keeps every round up to there (not only up
    to its own best), so it can be predicted at the count chosen over all folds."""
    features = feature_set(synthetic_dir, "medium")
    data = load_era_data(synthetic_dir / layout.TRAIN, features, ["target"])
    fold = purged_era_folds(data.eras, 3, 2)[0]
    cfg = Config.model_validate(
        {"lightgbm": {"n_estimators": 400, "learning_rate": 0.3, "num_leaves": 63,
                      "max_depth": -1, "colsample_bytree": 1.0, "num_threads": 1}}
    )  # fmt: skip
    fit = local_fitter(cfg, data, SILENT)
    member = Member("target", "target", 0, 1.0)
    kept, cut = fit([FitJob(member, fold, 400, 10, "fold", True),
                     FitJob(member, fold, 400, 10, "fold", False)])  # fmt: skip
    assert kept.curve == cut.curve and len(kept.curve) < 400  # stopped early
    assert len(kept.curve) - kept.best_iteration >= 10  # ... the patience after its best
    trees = lgb.Booster(model_str=kept.model_text).num_trees()
    assert trees == len(kept.curve) > lgb.Booster(model_str=cut.model_text).num_trees()
    assert lgb.Booster(model_str=cut.model_text).num_trees() == cut.best_iteration
