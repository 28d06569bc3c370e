"""Ensemble members as tasks on a Dask cluster: ``--cluster local`` or ``tcp://host:8786``.

Each task fits one member (target x seed, and a fold in cross-validation) on a worker,
which reads only that member's columns (the features and its one target) and eras (its
training and early-stopping eras) straight from the parquet file, and sends back the model
text (plain data). The file is where ``cluster.data_url`` puts it (an object store URL or
a shared folder; :mod:`numerpilot.data.remote`), else at this machine's path, which every
worker must then see (a shared folder). A worker's copy must be the file here:
:mod:`numerpilot.modeling.cluster_files` compares their footers before any fit.
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

import concurrent.futures
import contextlib
import logging
import multiprocessing
import signal
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

import numpy as np

from numerpilot.config import Config
from numerpilot.data.load import EraData, Location
from numerpilot.errors import DataError, LocalError
from numerpilot.modeling import dask_workers
from numerpilot.modeling.backends import FittedMember, fit_member, member_split
from numerpilot.modeling.cv import EraSplit
from numerpilot.modeling.dask_address import (
    CONNECT_TIMEOUT,
    LOCAL,
    cause_of,
    check_address,
    check_scheduler,
    import_dask,
    unreachable,
)
from numerpilot.modeling.dask_workers import check_workers, wait_for_worker
from numerpilot.modeling.members import Member
from numerpilot.modeling.memory import gib

log = logging.getLogger(__name__)

#: Seconds between looks at the cluster's workers while its tasks run.
WATCH_SECONDS = 5.0
#: Seconds to stop a LocalCluster cut short while it starts (Ctrl-C): it is thrown away.
ABANDON_TIMEOUT = 1.0


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
    from numerpilot.modeling.lgbm import release_training_set

    dask_workers.check_backend(task.cfg)  # before any data is read
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
    try:
        return fit_member(
            data.features, data.target(task.member.target), data.eras, member=task.member,
            feature_names=task.features, cfg=task.cfg, split=task.split,
            early_stopping_rounds=task.early_stopping_rounds,
            keep_all_rounds=task.keep_all_rounds,
        )  # fmt: skip
    finally:  # a task reads its own rows: nothing to share with the next one
        release_training_set()


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


def local_workers(configured: int, *, per_worker: int, free: int, cores: int, threads: int) -> int:
    """Workers of a LocalCluster: ``configured`` (0: as many as ``cores`` hold at
    ``threads`` each, and ``free`` bytes hold at ``per_worker`` bytes each, at least 1).

    A DataError, with the estimate and what to change, when they do not fit in ``free``;
    the count it offers fits the cores as well as the memory.
    """
    by_memory = free // max(1, per_worker)
    by_cores = max(1, cores // max(1, threads))
    wanted = configured or max(1, min(by_cores, by_memory))
    if wanted <= by_memory:
        if threads > 1 and wanted * threads > cores:  # LightGBM's threads wait on each other
            log.warning(
                "cluster.workers = %d at %d threads each runs %d threads on %d core%s, which "
                "slows every fit down; set lightgbm.num_threads = 1 (one fit per core), or "
                "cluster.workers = 0 (chosen for you: %d here)", wanted, threads,
                wanted * threads, cores, "s" * (cores != 1), by_cores,
            )  # fmt: skip
        return wanted
    fits = (f"set cluster.workers = {min(by_memory, by_cores)} (or 0: chosen for you), "
            if by_memory and configured else "")  # fmt: skip
    raise DataError(
        f"--cluster local: {wanted} worker{'s' * (wanted > 1)} would need about "
        f"{gib(wanted * per_worker)} ({gib(per_worker)} each for one fit) but "
        f"{gib(free)} is free beside this process (of its budget: train.memory_gb, or 85 % "
        f"of the available memory); {fits}raise train.memory_gb if the machine has more, "
        "set a larger data.era_step, choose a smaller data.feature_set, or use a cluster "
        "of other machines (--cluster tcp://host:8786)."
    )


def cluster_cores() -> int:
    """Physical cores this process may use (affinity and a cgroup CPU quota included)."""
    from numerpilot.threads import cgroup_cpu_limit, physical_cores, usable_cpus

    cores = physical_cores(usable_cpus())
    limit = cgroup_cpu_limit()
    return min(cores, max(1, int(limit))) if limit is not None else cores


def dask_setup(worker: Any) -> None:
    """Preload of ``--cluster local``'s worker processes: they ignore the terminal's Ctrl-C,
    which the command handles (its LocalCluster then stops them), instead of each dying
    with a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def connect(address: str, *, n_workers: int = 2) -> Iterator[Any]:
    """A Dask client of ``address``: a LocalCluster of ``n_workers`` processes for
    ``local``; else the scheduler there (:func:`check_scheduler`), once it has a worker
    (:func:`wait_for_worker`) and its workers can run numerpilot (:func:`check_workers`)."""
    check_address(address)
    distributed = import_dask()
    # Dask's own errors (a nanny's traceback when its worker dies, the scheduler's when a
    # task has killed workers, ...) only with -v: numerpilot says what failed, in one line
    quiet = logging.ERROR if log.isEnabledFor(logging.INFO) else logging.CRITICAL
    for name in ("distributed", "distributed.worker", "distributed.scheduler",
                 "distributed.nanny", "distributed.client"):  # fmt: skip
        logging.getLogger(name).setLevel(quiet)
    if address == LOCAL:
        with (
            _terminated_as_exit(),
            _local_cluster(distributed, n_workers, quiet) as cluster,
            distributed.Client(cluster) as client,
        ):
            yield client
        return
    check_scheduler(address)
    try:
        client = distributed.Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as error:  # it went away since check_scheduler
        raise unreachable(address, cause_of(error)) from None
    with client:
        wait_for_worker(client, address)
        check_workers(client, address)
        dask_workers.warn_of_threads(client, address)
        yield client


#: The clusters of ``--cluster local`` (:func:`_local_cluster`): a stall there has local causes.
_LOCAL_CLUSTERS: weakref.WeakSet[Any] = weakref.WeakSet()


@contextlib.contextmanager
def _local_cluster(distributed: Any, n_workers: int, quiet: int) -> Iterator[Any]:
    """A LocalCluster of ``n_workers`` processes, closed on leaving. One cut short while it
    starts (Ctrl-C, a worker that died) is stopped at once (:func:`_abandon`)."""
    import dask

    clusters = set(distributed.SpecCluster._instances)
    children = set(multiprocessing.active_children())
    # no pause, for the cluster's life (a worker its nanny restarts reads the config again):
    # a worker above its pause threshold (80 % of its memory by default, and a fit's memory
    # is not all given back to the system) would start no fit again. Each worker's limit is
    # this machine's memory shared evenly; its nanny still ends one at 95 % of it.
    with dask.config.set({"distributed.worker.memory.pause": False}):
        try:
            cluster = distributed.LocalCluster(
                n_workers=n_workers, threads_per_worker=1, processes=True,
                dashboard_address=None, silence_logs=quiet, preload=[__name__],
                # no dashboard; its HTTP server on a free port (8787 may be taken: a warning)
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            )  # fmt: skip
        except BaseException as error:
            _abandon(distributed, clusters, children)
            if not isinstance(error, RuntimeError):  # Ctrl-C, SIGTERM (SystemExit), ...
                raise
            raise LocalError(  # a worker process died starting
                f"--cluster local: a Dask worker process died while starting "
                f"({cause_of(error)}); what it printed, if anything, is above. Run the "
                "command again, or without --cluster."
            ) from None
        _LOCAL_CLUSTERS.add(cluster)
        with cluster:
            yield cluster


@contextlib.contextmanager
def _terminated_as_exit() -> Iterator[None]:
    """SIGTERM as an exit (code 143) while the block runs, where it would kill this process
    at once (its default): the LocalCluster is then stopped on the way out, and Python's
    resource tracker finds no semaphore of its workers left ('leaked semaphore objects')."""
    main = threading.current_thread() is threading.main_thread()
    if not main or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield  # another thread, or a handler of the command's own (the daemon's)
        return

    def leave(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, leave)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _abandon(distributed: Any, clusters: set[Any], children: set[Any]) -> None:
    """Stop, quietly and within seconds, what a LocalCluster cut short while it started
    left (not in ``clusters`` and ``children``, those from before): its worker processes
    and its scheduler. Left to Dask, its exit handler closes the cluster, waiting up to
    10 s and printing a traceback of workers that were still starting."""
    for name in ("distributed", "asyncio", "tornado"):  # the loop's last words; this ends
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    started = set(multiprocessing.active_children()) - children
    for process in started:
        process.kill()
    for cluster in set(distributed.SpecCluster._instances) - clusters:
        distributed.SpecCluster._instances.discard(cluster)  # not again at exit
        with contextlib.suppress(Exception):
            cluster.close(timeout=ABANDON_TIMEOUT)
    for process in set(multiprocessing.active_children()) - children:
        process.kill()
        process.join(ABANDON_TIMEOUT)


def fit_on_cluster(
    client: Any,
    tasks: Sequence[MemberTask],
    on_done: Callable[[int, FittedMember], None] = lambda i, fitted: None,
) -> list[FittedMember]:
    """Fit every task on the cluster; results in task order (``on_done`` as each ends).

    A task's own error (a NumerpilotError, ...) comes back as raised on the worker; the
    cluster's failures as one line naming the fit (:func:`result`), a scheduler lost
    (:func:`scheduler_lost`) too."""
    if client.status != "running":  # it lost its scheduler between two stages of the recipe
        raise scheduler_lost(client, len(tasks))
    futures = client.map(fit_task, list(tasks), pure=False)
    position = {f.key: i for i, f in enumerate(futures)}
    out: list[FittedMember | None] = [None] * len(futures)
    for future in completed(client, futures):
        i = position[future.key]
        member = tasks[i].member
        fitted: FittedMember = result(future, f"fitting {member.target} seed {member.seed}")
        out[i] = fitted
        on_done(i, fitted)
    return [f for f in out if f is not None]


def completed(client: Any, futures: Sequence[Any]) -> Iterator[Any]:
    """``futures`` as they finish; a LocalError once no worker could run a fit for
    ``dask_workers.WORKER_TIMEOUT`` seconds (every worker left or died, or every one is
    paused and idle, :func:`stalled`: Dask would wait for ever, with no word), or at once
    once the scheduler is lost (:func:`scheduler_lost`)."""
    distributed = import_dask()
    address = client.scheduler.address if client.scheduler is not None else None
    pending, stuck_since = set(futures), None
    while pending:
        try:
            done, pending = distributed.wait(pending, WATCH_SECONDS, "FIRST_COMPLETED")
        except TimeoutError:
            done = set()
        except concurrent.futures.CancelledError as error:  # Dask's FuturesCancelledError
            raise scheduler_lost(client, len(pending), address, error) from None
        yield from done
        if pending and client.status != "running":  # reconnecting or closed: tasks lost
            raise scheduler_lost(client, len(pending), address)
        why = None if done or not pending else dask_workers.stalled(client)
        if why is None:
            stuck_since = None
        elif stuck_since is None:
            stuck_since = time.monotonic()
            log.warning(dask_workers.STALLED_WARNINGS[why], address, dask_workers.WORKER_TIMEOUT)
        elif time.monotonic() - stuck_since >= dask_workers.WORKER_TIMEOUT:
            local = getattr(client, "cluster", None) in _LOCAL_CLUSTERS
            raise dask_workers.stalled_error(why, address, len(pending), local=local)


def scheduler_lost(
    client: Any, unfinished: int, address: str | None = None, error: BaseException | None = None
) -> LocalError:
    """A LocalError (exit 1) for ``unfinished`` fits of ``client`` that ended without a
    result: the scheduler at ``address`` stopped or could not be reached any more (Dask
    cancels every task then), or (``error``, for another reason) the cluster dropped them."""
    if address is None and client.scheduler is not None:
        address = client.scheduler.address
    fits = f"{unfinished} fit{'s' * (unfinished != 1)} unfinished"
    reasons = {group.reason for group in getattr(error, "error_groups", [])}
    if error is not None and reasons != {"scheduler-connection-lost"}:
        why = ", ".join(sorted(reasons)) or cause_of(error)
        return LocalError(
            f"the Dask cluster dropped the fits ({why}; {fits}); run the command again."
        )
    at = f" at {address}" if address else ""
    start = f"('dask scheduler', then 'dask worker {address or 'ADDRESS'}' on each machine)"
    return LocalError(
        f"lost the connection to the Dask scheduler{at} ({fits}): it stopped, or the network "
        f"to it failed. Start it again {start} and run the command again, or use "
        "--cluster local."
    )


def result(future: Any, doing: str) -> Any:
    """The result of a Dask ``future``, or its task's own error as raised on the worker; a
    LocalError (one line, exit 1) saying what failed while ``doing`` when the workers that
    ran it kept dying (Dask's KilledWorker; out of memory, mostly), one ran out of memory,
    or the task was dropped (the scheduler lost)."""
    distributed = import_dask()
    smaller = "set a larger data.era_step or a smaller data.feature_set"
    try:
        return future.result()
    except distributed.scheduler.KilledWorker as error:
        n = getattr(error, "allowed_failures", 0) + 1
        raise LocalError(
            f"a Dask worker died {n} time{'s' * (n > 1)} while {doing} (out of memory? give "
            f"the workers more memory or fewer threads, or {smaller})."
        ) from None
    except MemoryError:
        raise LocalError(
            f"a Dask worker ran out of memory while {doing}: give the workers more memory, "
            f"or {smaller}."
        ) from None
    except concurrent.futures.CancelledError as error:
        raise LocalError(
            f"the Dask cluster dropped the task while {doing} ({cause_of(error)}); run the "
            "command again."
        ) from None


def era_column(path: Location) -> np.ndarray:
    """The era of every row of ``path`` (n,) str, reading only that column."""
    from numerpilot.data import layout
    from numerpilot.data.eras import era_labels
    from numerpilot.data.load import open_parquet

    table = open_parquet(path).read(columns=[layout.ERA])
    return era_labels(np.asarray(table.column(layout.ERA).to_numpy(zero_copy_only=False)))
