"""Ensemble members as tasks on a Dask cluster: ``--cluster local`` or ``tcp://host:8786``.

Each task fits one member (target x seed, and a fold in cross-validation) on a worker,
which reads only that member's columns (the features and its one target) and eras (its
training and early-stopping eras) straight from the parquet file, and sends back the model
text (plain data). The file must be at the same path on every worker (a shared folder).
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
from numerpilot.data.load import EraData
from numerpilot.errors import ConfigError, LocalError, UsageError
from numerpilot.modeling.backends import FittedMember, fit_member
from numerpilot.modeling.cv import EraSplit
from numerpilot.modeling.members import Member

log = logging.getLogger(__name__)

LOCAL = "local"
#: Seconds to wait for a remote scheduler before giving up.
CONNECT_TIMEOUT = 5.0


@dataclass(frozen=True)
class MemberTask:
    """What a worker needs to fit one member: the file, its columns and eras, the config."""

    paths: list[str]
    features: list[str]
    member: Member
    split: EraSplit
    cfg: Config
    early_stopping_rounds: int
    keep_all_rounds: bool = False

    def eras(self) -> list[str]:
        return sorted(set(self.split.fit.tolist()) | set(self.split.holdout.tolist()))


def fit_task(task: MemberTask) -> FittedMember:
    """Run on a worker: read the member's columns and eras (of each file), fit it."""
    from numerpilot.data.load import load_era_data

    wanted = task.eras()
    parts = []
    for path in map(Path, task.paths):
        eras = np.intersect1d(wanted, era_column(path))  # files without them are skipped
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


def era_column(path: Path) -> np.ndarray:
    """The era of every row of ``path`` (n,) str, reading only that column."""
    from numerpilot.data import layout
    from numerpilot.data.load import open_parquet

    table = open_parquet(path).read(columns=[layout.ERA])
    return np.asarray(table.column(layout.ERA).to_numpy(zero_copy_only=False).astype(str))


def sampled_eras(path: Path, era_step: int) -> np.ndarray:
    """The eras of ``path`` that training uses (every ``era_step``-th)."""
    from numerpilot.data.load import sample_eras

    return sample_eras(era_column(path), era_step)
