"""Train the ensemble (one LightGBM model per kept target) and save the bundle atomically.

The recipe, chosen on the generator families of ``benchmarks/bench_quality.py``:
1. every era when train fits in memory (``data.era_step = "auto"``);
2. per target, the tree count is chosen by (smoothed) early stopping on the last
   ``holdout_eras`` of train, behind ``embargo_eras``;
3. ensemble weights are fitted on those models' holdout predictions (per-era CORR with
   the main target), shrunk toward equal; targets that do not help are dropped;
4. every kept target is fit again on all training eras with its tree count scaled by the
   rows added (``train.refit``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np

from numerpilot.data import layout
from numerpilot.data.catalog import feature_set
from numerpilot.data.load import EraData, load_era_data
from numerpilot.errors import ConfigError
from numerpilot.kernel.eras import EraIndex
from numerpilot.modeling.cv import EraSplit, holdout_split
from numerpilot.modeling.lgbm import lgbm_params, predict_rows, train_target
from numerpilot.modeling.memory import (
    GIB,
    HEADROOM,
    MemoryPlan,
    available_bytes,
    plan_memory,
)
from numerpilot.modeling.store import Manifest, save_bundle
from numerpilot.modeling.weights import fit_weights
from numerpilot.pipeline.context import Context
from numerpilot.progress import SILENT, Progress

log = logging.getLogger(__name__)


def ensemble_weights(ctx: Context) -> list[float]:
    train = ctx.config.train
    if train.weights is None:
        return [1.0] * len(train.targets)
    if (
        len(train.weights) != len(train.targets)
        or min(train.weights) < 0
        or sum(train.weights) <= 0
    ):
        raise ConfigError(
            f"train.weights must hold {len(train.targets)} non-negative numbers (one per "
            f"target, not all zero), got {train.weights}."
        )
    return list(train.weights)


def neutralizer_features(ctx: Context) -> list[str]:
    ens = ctx.config.ensemble
    if ens.neutralization_proportion == 0:
        return []
    return feature_set(ctx.data_dir, ens.neutralize_against)


def _memory_plan(ctx: Context, n_features: int, n_targets: int) -> MemoryPlan:
    """The era step to train with, checked against the memory budget before loading."""
    cfg = ctx.config
    eras = load_era_data(ctx.data_dir / layout.TRAIN, []).era_index  # no feature is read
    sizes = eras.counts
    # A budget the user states is used whole; free memory keeps some headroom.
    budget = (
        int(cfg.train.memory_gb * GIB) if cfg.train.memory_gb else int(available_bytes() * HEADROOM)
    )
    step = None if cfg.data.era_step == "auto" else int(cfg.data.era_step)
    return plan_memory(sizes, n_features, n_targets, step, budget)


@dataclass(frozen=True)
class _Stage:
    """Stage one of a target: the booster fit on the fit eras, its tree count and score."""

    booster: lgb.Booster
    trees: int
    score: float | None


def _needs_holdout(ctx: Context) -> bool:
    """Whether stage one (fit on the fit eras, judged on the holdout) has anything to choose:
    the tree count, the weights, or (without a refit) the final models themselves."""
    train = ctx.config.train
    fit_weights_here = train.weights is None and len(train.targets) > 1
    return train.early_stopping_rounds > 0 or fit_weights_here or not train.refit


def _stage_one(
    ctx: Context, data: EraData, target: str, split: EraSplit, progress: Progress
) -> _Stage:
    """Fit ``target`` on the fit eras; early stopping on the holdout chooses the tree count."""
    cfg = ctx.config
    with progress.task(f"Training {target}", cfg.lightgbm.n_estimators) as advance:
        model = train_target(
            data.features, data.target(target), data.eras,
            target=target, feature_names=list(data.feature_names), cfg=cfg.lightgbm,
            split=split, early_stopping_rounds=cfg.train.early_stopping_rounds,
            on_iteration=advance,
        )  # fmt: skip
    return _Stage(model.booster, model.best_iteration, model.holdout_score)


def refit_trees(trees: int, fit_rows: int, all_rows: int) -> int:
    """Trees for the refit on every era: the holdout's choice scaled by the rows added
    (boosting on more rows of the same signal supports proportionally more trees)."""
    return max(1, round(trees * all_rows / max(1, fit_rows)))


def _refit(ctx: Context, data: EraData, target: str, trees: int, progress: Progress) -> lgb.Booster:
    """Fit ``target`` on every training era with ``trees`` trees."""
    cfg = ctx.config.lightgbm.model_copy(update={"n_estimators": trees})
    with progress.task(f"Refitting {target} on every era", trees) as advance:
        model = train_target(
            data.features, data.target(target), data.eras,
            target=target, feature_names=list(data.feature_names), cfg=cfg, split=None,
            on_iteration=advance,
        )  # fmt: skip
    return model.booster


def _fitted_weights(
    ctx: Context, stages: dict[str, _Stage], data: EraData, split: EraSplit
) -> list[float]:
    """Configured weights, or weights fitted on the stage-one models' holdout predictions."""
    targets = list(ctx.config.train.targets)
    if ctx.config.train.weights is not None or len(targets) == 1:
        return ensemble_weights(ctx)
    main = data.target(layout.MAIN_TARGET)
    rows = np.flatnonzero(np.isin(data.eras, split.holdout) & ~np.isnan(main))
    preds = np.column_stack(
        [predict_rows(stages[t].booster, data.features, rows, stages[t].trees) for t in targets]
    )
    main_member = targets.index(layout.MAIN_TARGET) if layout.MAIN_TARGET in targets else None
    fit = fit_weights(preds, main[rows], EraIndex.from_eras(data.eras[rows]), main_member)
    for t, w, m, tt in zip(targets, fit.weights, fit.member_mean, fit.member_t, strict=True):
        log.info("%s: holdout CORR %.4f (t %.1f), weight %.2f", t, m, tt, w)
    log.info("holdout CORR of the ensemble %.4f (equal weights %.4f)", fit.ensemble_mean,
             fit.equal_mean)  # fmt: skip
    return [float(w) for w in fit.weights]


def train_ensemble(ctx: Context, progress: Progress = SILENT, *, publish: bool = True) -> Manifest:
    """Fit the ensemble: per target, choose the tree count on an embargoed holdout, fit
    the ensemble weights on the holdout predictions, then refit every kept target on all
    training eras.

    The bundle becomes the current one unless ``publish`` is False (then it waits, beside
    the current one, for a decision: see :mod:`numerpilot.pipeline.retrain`).
    """
    cfg = ctx.config
    ensemble_weights(ctx)  # a bad train.weights is refused before any work
    features = feature_set(ctx.data_dir, cfg.data.feature_set)
    neutralizers = neutralizer_features(ctx)
    targets = list(cfg.train.targets)
    loaded = targets if layout.MAIN_TARGET in targets else [*targets, layout.MAIN_TARGET]
    plan = _memory_plan(ctx, len(features), len(loaded))
    step = plan.era_step
    log.info("era step %d: %d rows, about %.1f GiB (budget %.1f GiB)", step, plan.rows,
             plan.estimate / GIB, plan.budget / GIB)  # fmt: skip
    with progress.task("Loading training data", None):
        data = load_era_data(ctx.data_dir / layout.TRAIN, features, loaded, era_step=step)
    split = None
    if _needs_holdout(ctx):
        split = holdout_split(
            data.eras,
            holdout=max(1, cfg.train.holdout_eras // step),
            embargo=math.ceil(cfg.train.embargo_eras / step),
        )
    log.info("training on %d rows, %d eras, %d features", len(data),
             data.era_index.n_eras, len(features))  # fmt: skip
    stages = {t: _stage_one(ctx, data, t, split, progress) for t in targets} if split else {}
    weights = _fitted_weights(ctx, stages, data, split) if split else ensemble_weights(ctx)
    scores = {t: stages[t].score if split else None for t in targets}
    kept = [t for t, w in zip(targets, weights, strict=True) if w > 0]
    boosters, trees = {}, {}
    for target in kept:
        stage = stages.pop(target, None)
        if stage is not None and not cfg.train.refit:
            boosters[target], trees[target] = stage.booster, stage.trees
            continue
        n = cfg.lightgbm.n_estimators
        if stage is not None and cfg.train.early_stopping_rounds and split is not None:
            known = ~np.isnan(data.target(target))
            fit_rows = int((known & np.isin(data.eras, split.fit)).sum())
            n = refit_trees(stage.trees, fit_rows, int(known.sum()))
        del stage  # frees the stage-one model before the refit
        boosters[target], trees[target] = _refit(ctx, data, target, n, progress), n
    stages.clear()
    manifest = Manifest(
        data_version=ctx.data_version,
        feature_set=cfg.data.feature_set,
        features=features,
        targets=kept,
        weights=[w for w in weights if w > 0],
        params=lgbm_params(cfg.lightgbm),
        best_iterations=trees,
        holdout_scores={t: scores[t] for t in kept},
        neutralization_proportion=cfg.ensemble.neutralization_proportion,
        neutralizer_features=neutralizers,
    )
    return save_bundle(ctx.workdir.models, manifest, boosters, publish=publish)


def holdout_mean(manifest: Manifest) -> float:
    values = [v for v in manifest.holdout_scores.values() if v is not None]
    return float(np.mean(values)) if values else float("nan")
