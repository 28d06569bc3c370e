"""Where the training recipe's fits run: here, one after another, or as Dask tasks.

:func:`numerpilot.pipeline.train.train_ensemble` writes the recipe once (tree count chosen
on held-out eras, weights fitted, refit on every era) as lists of
:class:`~numerpilot.modeling.members.FitJob` handed to a *fitter*. The local fitter fits
each job from the data already loaded; the cluster fitter sends each job to a Dask worker,
which reads only that job's columns and eras (:mod:`numerpilot.modeling.distributed`).
Parameters travel resolved (thread count included), so both build the very same trees.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from numerpilot.config import Config
from numerpilot.data.load import EraData
from numerpilot.modeling.backends import FittedMember, fit_member
from numerpilot.modeling.cv import EraSplit, holdout_split
from numerpilot.modeling.members import FitJob
from numerpilot.progress import Progress, member_task

#: Runs fit jobs; the fitted members in job order.
Fitter = Callable[[list[FitJob]], list[FittedMember]]


def train_split(cfg: Config, eras: np.ndarray) -> EraSplit:
    """The embargoed holdout of ``train``: its last ``holdout_eras`` (in sampled eras)."""
    step = cfg.data.step
    return holdout_split(
        eras,
        holdout=max(1, cfg.train.holdout_eras // step),
        embargo=math.ceil(cfg.train.embargo_eras / step),
    )


def model_params(cfg: Config) -> dict[str, Any]:
    """The parameters the manifest records for the configured backend (refuses a GPU or
    backend this install lacks)."""
    if cfg.model.backend == "xgboost":
        from numerpilot.modeling.xgb import xgb_params

        return xgb_params(cfg, cfg.lightgbm.seed)
    from numerpilot.modeling.lgbm import lgbm_params

    params = lgbm_params(cfg.lightgbm)
    if cfg.model.device == "gpu":
        from numerpilot.modeling.devices import lightgbm_gpu_params

        params.update(lightgbm_gpu_params())
    return params


def job_config(cfg: Config, job: FitJob) -> Config:
    """``cfg`` with the job's tree count."""
    lgb_cfg = cfg.lightgbm.model_copy(update={"n_estimators": job.trees})
    return cfg.model_copy(update={"lightgbm": lgb_cfg})


def local_fitter(cfg: Config, data: EraData, progress: Progress) -> Fitter:
    """Fit jobs in this process from ``data``, one after another, a bar each."""

    def fit(jobs: list[FitJob]) -> list[FittedMember]:
        out = []
        for job in jobs:
            with member_task(progress, job.label, job.trees) as advance:
                out.append(
                    fit_member(
                        data.features, data.target(job.member.target), data.eras,
                        member=job.member, feature_names=list(data.feature_names),
                        cfg=job_config(cfg, job), split=job.split,
                        early_stopping_rounds=job.early_stopping_rounds, on_progress=advance,
                        keep_all_rounds=job.keep_all_rounds,
                    )
                )  # fmt: skip
        return out

    return fit


def cluster_fitter(
    client: Any, address: str, paths: list[Path], features: list[str], cfg: Config,
    progress: Progress,
) -> Fitter:  # fmt: skip
    """Fit jobs as Dask tasks of ``client``; each worker reads its job's columns and eras
    of ``paths``."""
    from numerpilot.modeling.distributed import MemberTask, fit_on_cluster

    def fit(jobs: list[FitJob]) -> list[FittedMember]:
        tasks = [
            MemberTask([str(p) for p in paths], features, job.member, job.split,
                       job_config(cfg, job), job.early_stopping_rounds, job.keep_all_rounds)
            for job in jobs
        ]  # fmt: skip
        what = f"Fitting {len(tasks)} models on the Dask cluster ({address})"
        with progress.task(what, len(tasks)) as done:
            return fit_on_cluster(client, tasks, lambda i, f: done(1))

    return fit


@contextlib.contextmanager
def fitter(
    cfg: Config,
    data: EraData,
    path: Path,
    progress: Progress,
    cluster: str | None = None,
) -> Iterator[Fitter]:
    """The local fitter, or (with ``cluster``) one of a connected Dask client."""
    if cluster is None:
        yield local_fitter(cfg, data, progress)
        return
    from numerpilot.modeling.distributed import connect

    with connect(cluster) as client:
        yield cluster_fitter(client, cluster, [path], list(data.feature_names), cfg, progress)
