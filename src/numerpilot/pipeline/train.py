"""Train one LightGBM model per configured target and save the bundle atomically."""

from __future__ import annotations

import logging
import math

import numpy as np

from numerpilot.data import layout
from numerpilot.data.catalog import feature_set
from numerpilot.data.load import load_era_data
from numerpilot.errors import ConfigError
from numerpilot.modeling.cv import holdout_split
from numerpilot.modeling.lgbm import lgbm_params, train_target
from numerpilot.modeling.store import Manifest, save_bundle
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


def train_ensemble(
    ctx: Context, progress: Progress = SILENT, *, publish: bool = True, cluster: str | None = None
) -> Manifest:
    """Fit the ensemble on the training eras; early stopping on an embargoed holdout.

    The bundle becomes the current one unless ``publish`` is False (then it waits, beside
    the current one, for a decision: see :mod:`numerpilot.pipeline.retrain`). Seeds,
    XGBoost, a GPU or a Dask ``cluster`` go through :mod:`numerpilot.pipeline.members`.
    """
    from numerpilot.pipeline.members import needs_members, train_members

    if needs_members(ctx.config, cluster):
        return train_members(ctx, progress, publish=publish, cluster=cluster)
    cfg = ctx.config
    weights = ensemble_weights(ctx)
    features = feature_set(ctx.data_dir, cfg.data.feature_set)
    neutralizers = neutralizer_features(ctx)
    with progress.task("Loading training data", None):
        data = load_era_data(
            ctx.data_dir / layout.TRAIN, features, cfg.train.targets, era_step=cfg.data.era_step
        )
    step = cfg.data.era_step
    split = holdout_split(
        data.eras,
        holdout=max(1, cfg.train.holdout_eras // step),
        embargo=math.ceil(cfg.train.embargo_eras / step),
    )
    log.info("training on %d rows, %d eras, %d features", len(data), len(split.fit), len(features))
    boosters, best, scores = {}, {}, {}
    for target in cfg.train.targets:
        with progress.task(f"Training {target}", cfg.lightgbm.n_estimators) as advance:
            model = train_target(
                data.features, data.target(target), data.eras,
                target=target, feature_names=features, cfg=cfg.lightgbm, split=split,
                early_stopping_rounds=cfg.train.early_stopping_rounds, on_iteration=advance,
            )  # fmt: skip
        boosters[target] = model.booster
        best[target] = model.best_iteration
        scores[target] = model.holdout_score
    manifest = Manifest(
        data_version=ctx.data_version,
        feature_set=cfg.data.feature_set,
        features=features,
        targets=list(cfg.train.targets),
        weights=weights,
        params=lgbm_params(cfg.lightgbm),
        best_iterations=best,
        holdout_scores=scores,
        neutralization_proportion=cfg.ensemble.neutralization_proportion,
        neutralizer_features=neutralizers,
    )
    return save_bundle(ctx.workdir.models, manifest, boosters, publish=publish)


def holdout_mean(manifest: Manifest) -> float:
    values = [v for v in manifest.holdout_scores.values() if v is not None]
    return float(np.mean(values)) if values else float("nan")
