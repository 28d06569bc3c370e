"""Train the ensemble (one LightGBM model per kept target) and save the bundle atomically.

The recipe, chosen on the generator families of ``benchmarks/bench_quality.py``:
1. every era when train fits in memory (``data.era_step = "auto"``);
2. per target, the tree count is where the mean held-out score of ``cv_folds`` purged
   era folds peaks (or, without folds, early stopping on the last ``holdout_eras``);
3. ensemble weights are fitted on the out-of-fold predictions (per-era CORR with the main
   target), shrunk toward the main target's model; targets that do not help are dropped;
4. every kept target is fit again on all training eras with its tree count scaled by the
   rows added (``train.refit``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace

import lightgbm as lgb
import numpy as np

from numerpilot.data import layout
from numerpilot.data.catalog import feature_set
from numerpilot.data.load import EraData, load_era_data
from numerpilot.errors import ConfigError
from numerpilot.kernel.eras import EraIndex
from numerpilot.modeling.cv import EraSplit, holdout_split, purged_era_folds
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


def memory_plan(ctx: Context, n_features: int, n_targets: int) -> MemoryPlan:
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


def with_era_step(ctx: Context, n_features: int, n_targets: int) -> Context:
    """``ctx`` whose ``data.era_step`` is a number: the memory plan's when it is "auto"
    (a job that cannot fit is refused here, before any feature is read)."""
    plan = memory_plan(ctx, n_features, n_targets)
    data = ctx.config.data.model_copy(update={"era_step": plan.era_step})
    return replace(ctx, config=ctx.config.model_copy(update={"data": data}))


@dataclass(frozen=True)
class _Choice:
    """What the held-out eras said about one target.

    trees: the tree count chosen for models fit on ``fit_rows`` rows; score: the held-out
    mean per-era correlation there; rows (m,): rows of the data with out-of-sample
    predictions ``preds`` (m,); booster: the stage-one model (single holdout only).
    """

    trees: int
    fit_rows: float
    score: float | None
    rows: np.ndarray
    preds: np.ndarray
    booster: lgb.Booster | None = None


def _needs_holdout(ctx: Context) -> bool:
    """Whether held-out eras have anything to choose: the tree count, the weights, or
    (without a refit) the final models themselves."""
    train = ctx.config.train
    fit_weights_here = train.weights is None and len(train.targets) > 1
    return train.early_stopping_rounds > 0 or fit_weights_here or not train.refit


def best_round(curve: np.ndarray, window: int) -> int:
    """The round (1-based) where the centred moving average of ``curve`` peaks."""
    window = max(1, min(window, len(curve)))
    smoothed = np.convolve(curve, np.ones(window) / window, mode="valid")
    return int(np.argmax(smoothed)) + window // 2 + 1


def _fit_rows(data: EraData, target: str, eras: np.ndarray) -> int:
    return int((~np.isnan(data.target(target)) & np.isin(data.eras, eras)).sum())


def _choose_by_holdout(
    ctx: Context, data: EraData, target: str, split: EraSplit, progress: Progress
) -> _Choice:
    """Fit ``target`` on the fit eras; early stopping on the holdout chooses the tree count."""
    cfg = ctx.config
    with progress.task(f"Training {target}", cfg.lightgbm.n_estimators) as advance:
        model = train_target(
            data.features, data.target(target), data.eras,
            target=target, feature_names=list(data.feature_names), cfg=cfg.lightgbm,
            split=split, early_stopping_rounds=cfg.train.early_stopping_rounds,
            on_iteration=advance,
        )  # fmt: skip
    rows = np.flatnonzero(np.isin(data.eras, split.holdout))
    preds = predict_rows(model.booster, data.features, rows, model.best_iteration)
    fit_rows = _fit_rows(data, target, split.fit)
    return _Choice(model.best_iteration, fit_rows, model.holdout_score, rows, preds, model.booster)


def _choose_by_folds(
    ctx: Context, data: EraData, target: str, folds: list[EraSplit], progress: Progress
) -> _Choice:
    """Fit ``target`` once per era fold; the fold-averaged held-out score per round chooses
    the tree count (a single holdout lives in one regime and can pick far too few)."""
    cfg = ctx.config
    models, curves = [], []
    for k, fold in enumerate(folds, start=1):
        label = f"Cross-validating {target} ({k}/{len(folds)})"
        with progress.task(label, cfg.lightgbm.n_estimators) as advance:
            model = train_target(
                data.features, data.target(target), data.eras,
                target=target, feature_names=list(data.feature_names), cfg=cfg.lightgbm,
                split=fold, on_iteration=advance,
            )  # fmt: skip
        models.append(model.booster)
        curves.append(model.curve)
    curve = np.mean(np.array(curves), axis=0)
    trees = cfg.lightgbm.n_estimators
    if cfg.train.early_stopping_rounds:
        trees = best_round(curve, max(1, cfg.train.early_stopping_rounds // 4))
    preds = np.full(len(data), np.nan)
    for fold, booster in zip(folds, models, strict=True):
        rows = np.flatnonzero(np.isin(data.eras, fold.holdout))
        preds[rows] = predict_rows(booster, data.features, rows, trees)
    fit_rows = float(np.mean([_fit_rows(data, target, f.fit) for f in folds]))
    return _Choice(trees, fit_rows, float(curve[trees - 1]), np.arange(len(data)), preds)


def refit_trees(trees: int, fit_rows: float, all_rows: int) -> int:
    """Trees for the refit on every era: the chosen count scaled by the rows added
    (boosting on more rows of the same signal supports proportionally more trees)."""
    return max(1, round(trees * all_rows / max(1.0, fit_rows)))


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


def _fitted_weights(ctx: Context, choices: dict[str, _Choice], data: EraData) -> list[float]:
    """Configured weights, or weights fitted on the held-out predictions of every target."""
    targets = list(ctx.config.train.targets)
    if ctx.config.train.weights is not None or len(targets) == 1:
        return ensemble_weights(ctx)
    rows = choices[targets[0]].rows
    main = data.target(layout.MAIN_TARGET)[rows]
    preds = np.column_stack([choices[t].preds for t in targets])
    ok = ~np.isnan(main) & ~np.isnan(preds).any(axis=1)
    main_member = targets.index(layout.MAIN_TARGET) if layout.MAIN_TARGET in targets else None
    index = EraIndex.from_eras(data.eras[rows][ok])
    fit = fit_weights(preds[ok], main[ok], index, main_member)
    for t, w, m, tt in zip(targets, fit.weights, fit.member_mean, fit.member_t, strict=True):
        log.info("%s: held-out CORR %.4f (t %.1f), weight %.2f", t, m, tt, w)
    log.info("held-out CORR of the ensemble %.4f (equal weights %.4f)", fit.ensemble_mean,
             fit.equal_mean)  # fmt: skip
    return [float(w) for w in fit.weights]


def _choose(
    ctx: Context, data: EraData, step: int, progress: Progress
) -> dict[str, _Choice] | None:
    """Per target, what held-out eras say: by era folds (``train.cv_folds``), or by the
    last ``holdout_eras`` (without folds, or when the stage-one models are kept)."""
    cfg = ctx.config.train
    if not _needs_holdout(ctx):
        return None
    embargo = math.ceil(cfg.embargo_eras / step)
    if cfg.cv_folds >= 2 and cfg.refit:
        folds = purged_era_folds(data.eras, cfg.cv_folds, embargo)
        return {t: _choose_by_folds(ctx, data, t, folds, progress) for t in cfg.targets}
    split = holdout_split(data.eras, holdout=max(1, cfg.holdout_eras // step), embargo=embargo)
    return {t: _choose_by_holdout(ctx, data, t, split, progress) for t in cfg.targets}


def train_ensemble(
    ctx: Context, progress: Progress = SILENT, *, publish: bool = True, cluster: str | None = None
) -> Manifest:
    """Fit the ensemble: per target, choose the tree count on held-out eras, fit the
    ensemble weights on the held-out predictions, then refit every kept target on all
    training eras.

    The bundle becomes the current one unless ``publish`` is False (then it waits, beside
    the current one, for a decision: see :mod:`numerpilot.pipeline.retrain`). Seeds,
    XGBoost, a GPU or a Dask ``cluster`` go through :mod:`numerpilot.pipeline.members`.
    """
    from numerpilot.pipeline.members import needs_members, train_members

    if needs_members(ctx.config, cluster):
        return train_members(ctx, progress, publish=publish, cluster=cluster)
    cfg = ctx.config
    ensemble_weights(ctx)  # a bad train.weights is refused before any work
    features = feature_set(ctx.data_dir, cfg.data.feature_set)
    neutralizers = neutralizer_features(ctx)
    targets = list(cfg.train.targets)
    loaded = targets if layout.MAIN_TARGET in targets else [*targets, layout.MAIN_TARGET]
    plan = memory_plan(ctx, len(features), len(loaded))
    log.info("era step %d: %d rows, about %.1f GiB (budget %.1f GiB)", plan.era_step,
             plan.rows, plan.estimate / GIB, plan.budget / GIB)  # fmt: skip
    with progress.task("Loading training data", None):
        data = load_era_data(ctx.data_dir / layout.TRAIN, features, loaded, era_step=plan.era_step)
    log.info("training on %d rows, %d eras, %d features", len(data),
             data.era_index.n_eras, len(features))  # fmt: skip
    choices = _choose(ctx, data, plan.era_step, progress)
    weights = _fitted_weights(ctx, choices, data) if choices else ensemble_weights(ctx)
    kept = [t for t, w in zip(targets, weights, strict=True) if w > 0]
    scores = {t: c.score for t, c in (choices or {}).items()}
    boosters, trees = {}, {}
    for target in kept:
        choice = choices.pop(target) if choices else None
        if choice is not None and choice.booster is not None and not cfg.train.refit:
            boosters[target], trees[target] = choice.booster, choice.trees
            continue
        n = cfg.lightgbm.n_estimators
        if choice is not None and cfg.train.early_stopping_rounds:
            n = refit_trees(
                choice.trees, choice.fit_rows, int((~np.isnan(data.target(target))).sum())
            )
        boosters[target], trees[target] = _refit(ctx, data, target, n, progress), n
    manifest = Manifest(
        data_version=ctx.data_version,
        feature_set=cfg.data.feature_set,
        features=features,
        targets=kept,
        weights=[w for w in weights if w > 0],
        params=lgbm_params(cfg.lightgbm),
        best_iterations=trees,
        holdout_scores={t: scores.get(t) for t in kept},
        neutralization_proportion=cfg.ensemble.neutralization_proportion,
        neutralizer_features=neutralizers,
    )
    return save_bundle(ctx.workdir.models, manifest, boosters, publish=publish)


def holdout_mean(manifest: Manifest) -> float:
    values = [v for v in manifest.holdout_scores.values() if v is not None]
    return float(np.mean(values)) if values else float("nan")
