"""Where the training recipe's fits run: here, one after another, or as Dask tasks.

:func:`numerpilot.pipeline.train.train_ensemble` writes the recipe once (tree count chosen
on held-out eras, weights fitted, refit on every era) as lists of
:class:`~numerpilot.modeling.members.FitJob` handed to a *fitter*. The local fitter fits
each job from the data already loaded; the cluster fitter sends each job to a Dask worker,
which reads only that job's columns and eras (:mod:`numerpilot.modeling.distributed`) of
the dataset files here, or of their copies under ``cluster.data_url`` (an object store).
Parameters travel resolved (thread count included), so both build the very same trees.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from numerpilot.config import Config
from numerpilot.data.load import EraData
from numerpilot.errors import ConfigError
from numerpilot.modeling.backends import FittedMember, fit_member
from numerpilot.modeling.cv import EraSplit, holdout_split
from numerpilot.modeling.members import FitJob
from numerpilot.modeling.memory import MemoryPlan
from numerpilot.pipeline.context import Context
from numerpilot.progress import Progress, member_task
from numerpilot.threads import auto_threads
from numerpilot.words import plural

log = logging.getLogger(__name__)

#: Runs fit jobs; the fitted members in job order.
Fitter = Callable[[list[FitJob]], list[FittedMember]]


def train_split(cfg: Config, eras: np.ndarray) -> EraSplit:
    """The embargoed holdout of ``train``: its last ``holdout_eras`` (in sampled eras)."""
    step = cfg.data.step
    return holdout_split(
        eras,
        holdout=max(1, cfg.train.holdout_eras // step),
        embargo=math.ceil(cfg.train.embargo_eras / step),
        era_step=step,
    )


def model_params(cfg: Config, n_features: int | None = None) -> dict[str, Any]:
    """The parameters the manifest records for the configured backend (refuses a GPU or
    backend this install lacks, and parameters LightGBM rejects; those per feature, such
    as ``monotone_constraints``, only when ``n_features``, the models' count, is given)."""
    if cfg.model.backend == "xgboost":
        from numerpilot.modeling.xgb import xgb_params

        if cfg.lightgbm.extra:  # they would be ignored, silently
            raise ConfigError(
                f"[lightgbm] extra ({', '.join(cfg.lightgbm.extra)}) holds LightGBM "
                'parameters, which model.backend = "xgboost" does not use; remove them, or '
                'set model.backend = "lightgbm".'
            )
        return xgb_params(cfg, cfg.lightgbm.seed)
    from numerpilot.modeling.lgbm import check_params, lgbm_params

    params = lgbm_params(cfg.lightgbm)
    if cfg.model.device == "gpu":
        from numerpilot.modeling.devices import lightgbm_gpu_params

        params.update(lightgbm_gpu_params())
    check_params(params, n_features)
    return params


def job_config(cfg: Config, job: FitJob) -> Config:
    """``cfg`` with the job's tree count."""
    lgb_cfg = cfg.lightgbm.model_copy(update={"n_estimators": job.trees})
    return cfg.model_copy(update={"lightgbm": lgb_cfg})


def local_fitter(cfg: Config, data: EraData, progress: Progress) -> Fitter:
    """Fit jobs in this process from ``data``, one after another, a bar each."""

    def fit(jobs: list[FitJob]) -> list[FittedMember]:
        from numerpilot.modeling.lgbm import release_training_set

        out = []
        try:
            for job in jobs:
                with member_task(progress, job.label, job.trees) as advance:
                    out.append(
                        fit_member(
                            data.features, data.target(job.member.target), data.eras,
                            member=job.member, feature_names=list(data.feature_names),
                            cfg=job_config(cfg, job), split=job.split,
                            early_stopping_rounds=job.early_stopping_rounds,
                            on_progress=advance, keep_all_rounds=job.keep_all_rounds,
                        )
                    )  # fmt: skip
        finally:  # a refit's training set, kept for the next seed: not beyond the batch
            release_training_set()
        return out

    return fit


def worker_files(ctx: Context, paths: list[Path]) -> list[str]:
    """Where the workers read each dataset file of ``paths``: the same place under
    ``cluster.data_url`` (a URL or a shared folder mirroring the data folder), else here."""
    from numerpilot.data.remote import is_url, join_url

    base = ctx.config.cluster.data_url
    if base is None:
        return [str(p) for p in paths]
    root = ctx.workdir.data_root(ctx.config)
    relative = [p.relative_to(root).as_posix() for p in paths]
    if is_url(base):
        return [join_url(base, r) for r in relative]
    return [str(Path(base) / r) for r in relative]


def local_size(cfg: Config, plan: MemoryPlan, features: int) -> int:
    """Workers of ``--cluster local``: ``cluster.workers``, or as many as the cores and the
    memory that ``plan`` leaves beside this process hold; refused, before any feature is
    read, when they do not fit.

    A worker holds at most every planned row with one target (one fit at a time)."""
    from numerpilot.modeling.distributed import cluster_cores, local_workers
    from numerpilot.modeling.memory import estimate_train_bytes

    n = local_workers(
        cfg.cluster.workers, per_worker=estimate_train_bytes(plan.rows, features, 1),
        free=max(0, plan.budget - plan.estimate), cores=cluster_cores(),
        threads=cfg.lightgbm.num_threads or auto_threads(),
    )  # fmt: skip
    log.info("--cluster local: %d workers", n)
    return n


def cluster_fitter(
    client: Any, address: str, ctx: Context, paths: list[Path], features: list[str],
    progress: Progress,
) -> Fitter:  # fmt: skip
    """Fit jobs as Dask tasks of ``client``; each worker reads its job's columns and eras
    of ``paths`` (or of their copies under ``cluster.data_url``, checked here first)."""
    from numerpilot.modeling.cluster_files import check_files
    from numerpilot.modeling.distributed import MemberTask, fit_on_cluster

    cfg = ctx.config
    files = worker_files(ctx, paths)
    check_files(client, files, paths)

    def fit(jobs: list[FitJob]) -> list[FittedMember]:
        tasks = [
            MemberTask(files, features, job.member, job.split,
                       job_config(cfg, job), job.early_stopping_rounds, job.keep_all_rounds)
            for job in jobs
        ]  # fmt: skip
        workers = len(client.scheduler_info().get("workers", {}))
        what = (f"Fitting {plural(len(tasks), 'model')} on the Dask cluster ({address}, "
                f"{plural(workers, 'worker')})")  # fmt: skip
        with progress.task(what, len(tasks)) as done:
            return fit_on_cluster(client, tasks, lambda i, f: done(1))

    return fit


@contextlib.contextmanager
def fitter(
    ctx: Context,
    data: EraData,
    paths: list[Path],
    progress: Progress,
    cluster: str | None = None,
    n_workers: int = 0,
) -> Iterator[Fitter]:
    """The local fitter of ``data``, or (with ``cluster``) one of a connected Dask client
    whose workers read their jobs' rows of ``paths`` (the files ``data`` came from);
    ``n_workers`` sizes ``--cluster local`` (:func:`local_size`)."""
    if cluster is None:
        yield local_fitter(ctx.config, data, progress)
        return
    from numerpilot.modeling.distributed import connect

    with connect(cluster, n_workers=n_workers) as client:
        features = list(data.feature_names)
        yield cluster_fitter(client, cluster, ctx, paths, features, progress)
