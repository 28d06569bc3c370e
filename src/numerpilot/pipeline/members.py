"""Training the ensemble as members (target x seed), here or on a Dask cluster.

:func:`numerpilot.pipeline.train.train_ensemble` hands over to :func:`train_members` when
the ensemble needs it: more than one seed per target, the XGBoost backend, a GPU, or a
cluster. Eras, holdout and embargo are chosen exactly as there, and each member is fitted
by :func:`numerpilot.modeling.backends.fit_member`, so one seed per target on the CPU gives
the same bundle with and without a cluster.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

from numerpilot.config import Config
from numerpilot.data import layout
from numerpilot.data.catalog import feature_set
from numerpilot.data.load import load_era_data
from numerpilot.modeling.backends import FittedMember, fit_member, resolved
from numerpilot.modeling.cv import EraSplit, holdout_split
from numerpilot.modeling.members import ensemble_members
from numerpilot.modeling.store import Manifest, save_bundle
from numerpilot.pipeline.context import Context
from numerpilot.progress import SILENT, Progress, member_task

log = logging.getLogger(__name__)


def needs_members(cfg: Config, cluster: str | None) -> bool:
    """Whether training goes through members rather than one LightGBM model per target."""
    m = cfg.model
    return cluster is not None or m.backend != "lightgbm" or m.device != "cpu" or bool(m.seeds)


def train_split(cfg: Config, eras: np.ndarray) -> EraSplit:
    """The early-stopping holdout of ``train`` (the same split as the plain path)."""
    step = cfg.data.step
    return holdout_split(
        eras,
        holdout=max(1, cfg.train.holdout_eras // step),
        embargo=math.ceil(cfg.train.embargo_eras / step),
    )


def model_params(cfg: Config) -> dict[str, Any]:
    """The parameters the manifest records for the configured backend."""
    if cfg.model.backend == "xgboost":
        from numerpilot.modeling.xgb import xgb_params

        return xgb_params(cfg, cfg.lightgbm.seed)
    from numerpilot.modeling.lgbm import lgbm_params

    params = lgbm_params(cfg.lightgbm)
    if cfg.model.device == "gpu":
        from numerpilot.modeling.devices import lightgbm_gpu_params

        params.update(lightgbm_gpu_params())
    return params


def train_members(
    ctx: Context,
    progress: Progress = SILENT,
    *,
    publish: bool = True,
    cluster: str | None = None,
    weights: list[float] | None = None,
    neutralizers: list[str] | None = None,
) -> Manifest:
    """Fit every member (here, or as tasks on ``cluster``) and save the bundle."""
    from numerpilot.pipeline.train import ensemble_weights, neutralizer_features, with_era_step

    features = feature_set(ctx.data_dir, ctx.config.data.feature_set)
    ctx = with_era_step(ctx, len(features), len(ctx.config.train.targets))
    cfg = resolved(ctx.config)
    model_params(cfg)  # a GPU or backend this install lacks is refused before any loading
    weights = ensemble_weights(ctx) if weights is None else weights
    neutralizers = neutralizer_features(ctx) if neutralizers is None else neutralizers
    members = ensemble_members(cfg, weights)
    path = ctx.data_dir / layout.TRAIN
    rounds = cfg.train.early_stopping_rounds
    fitted: list[FittedMember]
    if cluster is None:
        with progress.task("Loading training data", None):
            data = load_era_data(path, features, cfg.train.targets, era_step=cfg.data.step)
        split = train_split(cfg, data.eras)
        fitted = []
        for m in members:
            with member_task(progress, f"Training {m.name}", cfg.lightgbm.n_estimators) as bar:
                fitted.append(
                    fit_member(
                        data.features, data.target(m.target), data.eras, member=m,
                        feature_names=features, cfg=cfg, split=split,
                        early_stopping_rounds=rounds, on_progress=bar,
                    )
                )  # fmt: skip
    else:
        from numerpilot.modeling.distributed import (
            MemberTask,
            connect,
            fit_on_cluster,
            sampled_eras,
        )

        split = train_split(cfg, sampled_eras(path, cfg.data.step))
        tasks = [MemberTask([str(path)], features, m, split, cfg, rounds) for m in members]
        what = f"Training {len(tasks)} members on the Dask cluster ({cluster})"
        with connect(cluster) as client, progress.task(what, len(tasks)) as done:
            fitted = fit_on_cluster(client, tasks, lambda i, f: done(1))
    manifest = Manifest(
        data_version=ctx.data_version,
        feature_set=cfg.data.feature_set,
        features=features,
        targets=[f.name for f in fitted],
        weights=[m.weight for m in members],
        params=model_params(cfg),
        best_iterations={f.name: f.best_iteration for f in fitted},
        holdout_scores={f.name: f.holdout_score for f in fitted},
        neutralization_proportion=cfg.ensemble.neutralization_proportion,
        neutralizer_features=neutralizers,
        backend=cfg.model.backend,
    )
    return save_bundle(
        ctx.workdir.models, manifest, {f.name: f.model_text for f in fitted}, publish=publish
    )
