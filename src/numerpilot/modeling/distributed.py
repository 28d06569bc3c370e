"""Ensemble members as tasks on a Dask cluster: ``--cluster local`` or ``tcp://host:8786``.

Each task fits one member (target x seed, and a fold in cross-validation) on a worker,
which reads only that member's columns (the features and its one target) and eras (its
training and early-stopping eras) straight from the parquet file, and sends back the model
text (plain data). The file is where ``cluster.data_url`` puts it (an object store URL or
a shared folder; :mod:`numerpilot.data.remote`), else at this machine's path, which every
worker must then see (a shared folder). A worker's copy must hold the same rows as the one
here: :func:`check_files` compares their row counts before any fit.
The parameters travel resolved (thread count included), so a worker builds the very trees
the local path builds for the same seed.

One model is never split across workers: LightGBM's and XGBoost's own Dask training
(``lightgbm.DaskLGBMRegressor``, ``xgboost.dask``) exist for that, but need the data as
Dask collections partitioned over the workers, lose the int8 batch path, and their early
stopping is limited (LightGBM's Dask interface does not support it, LightGBM issue #3712;
XGBoost's evaluates a Dask evaluation set across all workers every round). A member that
does not fit one worker is better made smaller (``data.era_step``, a smaller feature set)
and the ensemble larger.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from numerpilot.config import Config
from numerpilot.data.load import EraData, Location
from numerpilot.errors import ConfigError, DataError, LocalError, UsageError
from numerpilot.modeling.backends import FittedMember, fit_member, member_split
from numerpilot.modeling.cv import EraSplit
from numerpilot.modeling.members import Member
from numerpilot.modeling.memory import gib

log = logging.getLogger(__name__)

LOCAL = "local"
#: Seconds to wait for a remote scheduler before giving up.
CONNECT_TIMEOUT = 5.0


@dataclass(frozen=True)
class MemberTask:
    """What a worker needs to fit one member: the file, its columns and eras, the config."""

    paths: list[str]  # local paths or URLs (numerpilot.data.remote.location)
    features: list[str]
    member: Member
    split: EraSplit
    cfg: Config
    early_stopping_rounds: int
    keep_all_rounds: bool = False

    def eras(self) -> list[str]:
        """The eras the fit reads: its (sampled, ``model.era_sample``) fit and held-out eras."""
        split = member_split(self.split, self.member.seed, self.cfg.model.era_sample)
        return sorted(set(split.fit.tolist()) | set(split.holdout.tolist()))


def fit_task(task: MemberTask) -> FittedMember:
    """Run on a worker: read the member's columns and eras (of each file), fit it."""
    from numerpilot.data.load import load_era_data
    from numerpilot.data.remote import location

    wanted = task.eras()
    parts = []
    for path in map(location, task.paths):
        # one file holds every wanted era; of several, each is asked which it holds
        eras = np.intersect1d(wanted, era_column(path)) if len(task.paths) > 1 else np.array(wanted)
        if len(eras):
            parts.append(
                load_era_data(path, task.features, [task.member.target], eras=eras.tolist())
            )
    data = concat_era_data(parts)
    return fit_member(
        data.features, data.target(task.member.target), data.eras, member=task.member,
        feature_names=task.features, cfg=task.cfg, split=task.split,
        early_stopping_rounds=task.early_stopping_rounds, keep_all_rounds=task.keep_all_rounds,
    )  # fmt: skip


def concat_era_data(parts: list[EraData]) -> EraData:
    """Rows of several files (same columns) as one EraData, in order."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    return EraData(
        np.concatenate([p.ids for p in parts]),
        np.concatenate([p.eras for p in parts]),
        np.concatenate([p.features for p in parts]),
        first.feature_names,
        np.concatenate([p.targets for p in parts]),
        first.target_names,
    )


def check_address(address: str) -> str:
    """``local`` or ``tcp://host:port`` (also tls://, ws://); UsageError otherwise."""
    if address == LOCAL:
        return address
    parts = urlsplit(address)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("tcp", "tls", "ws", "wss") or not parts.hostname or port is None:
        raise UsageError(
            f"--cluster {address!r}: give 'local' (a cluster on this machine) or a Dask "
            "scheduler address such as tcp://host:8786."
        )
    return address


def _dask() -> Any:
    try:
        import distributed
    except ImportError:
        raise ConfigError(
            "--cluster needs Dask: pip install 'dask[distributed]' (or drop --cluster)."
        ) from None
    return distributed


def local_workers(configured: int, *, per_worker: int, free: int, cores: int, threads: int) -> int:
    """Workers of a LocalCluster: ``configured`` (0: as many as ``cores`` hold at
    ``threads`` each, and ``free`` bytes hold at ``per_worker`` bytes each, at least 1).

    A DataError, with the estimate and what to change, when they do not fit in ``free``.
    """
    by_memory = free // max(1, per_worker)
    wanted = configured or max(1, min(cores // max(1, threads), by_memory))
    if wanted <= by_memory:
        return wanted
    fits = (f"set cluster.workers = {by_memory} (or 0: chosen for you), "
            if by_memory and configured else "")  # fmt: skip
    raise DataError(
        f"--cluster local: {wanted} worker{'s' * (wanted > 1)} would need about "
        f"{gib(wanted * per_worker)} ({gib(per_worker)} each for one fit) but "
        f"{gib(free)} is free; {fits}set a larger data.era_step, choose a smaller "
        "data.feature_set, or use a cluster of other machines (--cluster tcp://host:8786)."
    )


def cluster_cores() -> int:
    """Physical cores this process may use (affinity and a cgroup CPU quota included)."""
    from numerpilot.threads import cgroup_cpu_limit, physical_cores, usable_cpus

    cores = physical_cores(usable_cpus())
    limit = cgroup_cpu_limit()
    return min(cores, max(1, int(limit))) if limit is not None else cores


@contextlib.contextmanager
def connect(address: str, *, n_workers: int = 2) -> Iterator[Any]:
    """A Dask client of ``address``: a LocalCluster of ``n_workers`` processes for
    ``local``; else the scheduler there, or a LocalError (exit 1) naming the address and
    the cause within :data:`CONNECT_TIMEOUT` seconds."""
    check_address(address)
    distributed = _dask()
    for name in ("distributed", "distributed.worker", "distributed.scheduler"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if address == LOCAL:
        with (
            distributed.LocalCluster(
                n_workers=n_workers, threads_per_worker=1, processes=True,
                dashboard_address=None, silence_logs=logging.ERROR,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):  # fmt: skip
            yield client
        return
    try:
        client = distributed.Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as error:
        cause = " ".join(str(error).split()) or type(error).__name__
        raise LocalError(
            f"cannot reach the Dask scheduler at {address} ({cause}). Start it there "
            "('dask scheduler', then 'dask worker ADDRESS' on each machine) or use "
            "--cluster local."
        ) from None
    with client:
        yield client


def fit_on_cluster(
    client: Any,
    tasks: Sequence[MemberTask],
    on_done: Callable[[int, FittedMember], None] = lambda i, fitted: None,
) -> list[FittedMember]:
    """Fit every task on the cluster; results in task order (``on_done`` as each ends)."""
    distributed = _dask()
    futures = client.map(fit_task, list(tasks), pure=False)
    position = {f.key: i for i, f in enumerate(futures)}
    out: list[FittedMember | None] = [None] * len(futures)
    for future in distributed.as_completed(futures):
        i = position[future.key]
        fitted: FittedMember = future.result()
        out[i] = fitted
        on_done(i, fitted)
    return [f for f in out if f is not None]


def row_counts(paths: Sequence[str]) -> list[int]:
    """Rows of each file (its footer only); run on a worker to see the worker's copies."""
    from numerpilot.data.load import open_parquet
    from numerpilot.data.remote import location

    return [open_parquet(location(p)).metadata.num_rows for p in paths]


def check_files(client: Any, files: Sequence[str], local: Sequence[Path]) -> None:
    """Refuse (DataError) before any fit when a worker cannot open ``files`` or its copy
    holds other rows than ``local`` (a stale mirror would give other models)."""
    from numerpilot.data.load import open_parquet
    from numerpilot.data.remote import redact

    there = client.submit(row_counts, list(files), pure=False).result()
    for file, path, rows in zip(files, local, there, strict=True):
        here = open_parquet(path).metadata.num_rows
        if rows != here:
            raise DataError(
                f"the workers' {redact(file)} has {rows:,} rows but {path} has {here:,}: "
                "copy the current dataset there (cluster.data_url) before training."
            )


def era_column(path: Location) -> np.ndarray:
    """The era of every row of ``path`` (n,) str, reading only that column."""
    from numerpilot.data import layout
    from numerpilot.data.eras import era_labels
    from numerpilot.data.load import open_parquet

    table = open_parquet(path).read(columns=[layout.ERA])
    return era_labels(np.asarray(table.column(layout.ERA).to_numpy(zero_copy_only=False)))
