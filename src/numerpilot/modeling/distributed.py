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

import asyncio
import concurrent.futures
import contextlib
import logging
import multiprocessing
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import FrameType
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
#: Seconds to wait for a connection to a remote scheduler before giving up.
CONNECT_TIMEOUT = 5.0
#: Seconds to wait for its answer, the connection included: a second more, so that a port
#: that takes no connection is told by the connection's own bound, always.
ANSWER_TIMEOUT = CONNECT_TIMEOUT + 1.0
#: Seconds to wait for a first worker at a scheduler that has none (and, while tasks run,
#: for a worker to come back once every worker has left).
WORKER_TIMEOUT = 60.0
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


def dask_setup(worker: Any) -> None:
    """Preload of ``--cluster local``'s worker processes: they ignore the terminal's Ctrl-C,
    which the command handles (its LocalCluster then stops them), instead of each dying
    with a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def check_scheduler(address: str) -> None:
    """Ask ``address`` (not ``local``) who it is, within :data:`ANSWER_TIMEOUT` seconds: a
    LocalError (exit 1) naming it and the cause unless a Dask scheduler answers.

    Dask's own connect bounds the TCP connection but not the answer: something else that
    accepts and stays silent (the dashboard's HTTP port, too) would be waited on forever,
    and an HTTP reply is read as a frame length (a MemoryError)."""
    distributed = _dask()

    async def identity() -> Any:
        args = distributed.Security().get_connection_args("client")
        comm = await distributed.comm.connect(address, timeout=CONNECT_TIMEOUT, **args)
        try:
            return await distributed.core.send_recv(comm, op="identity")
        finally:
            comm.abort()

    pool = concurrent.futures.ThreadPoolExecutor(1)  # a loop of its own, whatever runs here
    try:
        reply = pool.submit(asyncio.run, asyncio.wait_for(identity(), ANSWER_TIMEOUT)).result()
    except TimeoutError:  # connected (else Dask's connect had given up), but no answer
        cause = (f"it took the connection but no Dask scheduler answered within "
                 f"{ANSWER_TIMEOUT:g} s; is it the scheduler's port (8786), not the "
                 "dashboard's (8787)?")  # fmt: skip
        raise _unreachable(address, cause) from None
    except OSError as error:  # refused, no route, the connection closed unanswered, ...
        raise _unreachable(address, _cause(error)) from None
    except MemoryError:  # a reply whose first bytes make a huge frame length
        cause = "it answered in another protocol: a web server?"
        raise _not_a_scheduler(address, cause) from None
    except Exception as error:  # a reply Dask cannot decode
        raise _not_a_scheduler(address, f"its reply is not Dask's: {_cause(error)}") from None
    finally:
        pool.shutdown(wait=False)
    kind = reply.get("type") if isinstance(reply, dict) else None
    if kind != "Scheduler":
        raise _not_a_scheduler(address, f"it is a Dask {kind or 'server of another kind'}")


def _cause(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _unreachable(address: str, cause: str) -> LocalError:
    return LocalError(
        f"cannot reach the Dask scheduler at {address} ({cause}). Start it there "
        "('dask scheduler', then 'dask worker ADDRESS' on each machine) or use "
        "--cluster local."
    )


def _not_a_scheduler(address: str, cause: str) -> LocalError:
    return LocalError(
        f"{address} is not a Dask scheduler ({cause}). Give the scheduler's address (e.g. "
        "tcp://host:8786, which 'dask scheduler' prints) or use --cluster local."
    )


def wait_for_worker(client: Any, address: str) -> None:
    """Return once the scheduler at ``address`` has a worker; a LocalError after
    :data:`WORKER_TIMEOUT` seconds without one (a task would wait forever)."""
    if client.scheduler_info().get("workers"):
        return
    log.warning("waiting for a Dask worker at %s (none has joined it yet; at most %g s)",
                address, WORKER_TIMEOUT)  # fmt: skip
    try:
        client.wait_for_workers(1, timeout=WORKER_TIMEOUT)
    except TimeoutError:
        raise LocalError(
            f"no Dask worker joined the scheduler at {address} within {WORKER_TIMEOUT:g} s. "
            f"Start one on each machine ('dask worker {address}') or use --cluster local."
        ) from None


@contextlib.contextmanager
def connect(address: str, *, n_workers: int = 2) -> Iterator[Any]:
    """A Dask client of ``address``: a LocalCluster of ``n_workers`` processes for
    ``local``; else the scheduler there (:func:`check_scheduler`), once it has a worker
    (:func:`wait_for_worker`)."""
    check_address(address)
    distributed = _dask()
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
        raise _unreachable(address, _cause(error)) from None
    with client:
        wait_for_worker(client, address)
        yield client


@contextlib.contextmanager
def _local_cluster(distributed: Any, n_workers: int, quiet: int) -> Iterator[Any]:
    """A LocalCluster of ``n_workers`` processes, closed on leaving. One cut short while it
    starts (Ctrl-C, a worker that died) is stopped at once (:func:`_abandon`)."""
    clusters = set(distributed.SpecCluster._instances)
    children = set(multiprocessing.active_children())
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
            f"--cluster local: a Dask worker process died while starting ({_cause(error)}"
            "); what it printed, if anything, is above. Run the command again, or without "
            "--cluster."
        ) from None
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
    cluster's failures as one line naming the fit (:func:`result`)."""
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
    """``futures`` as they finish; a LocalError once the cluster has had no worker for
    :data:`WORKER_TIMEOUT` seconds (every worker left or died: Dask would wait for one
    for ever, with no word)."""
    distributed = _dask()
    pending, alone_since = set(futures), None
    while pending:
        try:
            done, pending = distributed.wait(pending, WATCH_SECONDS, "FIRST_COMPLETED")
        except TimeoutError:
            done = set()
        yield from done
        if done or client.scheduler_info(n_workers=1).get("workers"):
            alone_since = None
        elif alone_since is None:
            alone_since = time.monotonic()
            log.warning("every Dask worker has left the scheduler at %s; waiting at most "
                        "%g s for one", client.scheduler.address, WORKER_TIMEOUT)  # fmt: skip
        elif time.monotonic() - alone_since >= WORKER_TIMEOUT:
            address = client.scheduler.address
            raise LocalError(
                f"every Dask worker left the scheduler at {address} and none came back "
                f"within {WORKER_TIMEOUT:g} s ({len(pending)} fit{'s' * (len(pending) != 1)} "
                f"unfinished). Start workers ('dask worker {address}') and run the command "
                "again, or use --cluster local."
            )


def result(future: Any, doing: str) -> Any:
    """The result of a Dask ``future``, or its task's own error as raised on the worker; a
    LocalError (one line, exit 1) saying what failed while ``doing`` when the workers that
    ran it kept dying (Dask's KilledWorker; out of memory, mostly), one ran out of memory,
    or the task was dropped (the scheduler lost)."""
    distributed = _dask()
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
            f"the Dask cluster dropped the task while {doing} ({_cause(error)}); run the "
            "command again."
        ) from None


def era_column(path: Location) -> np.ndarray:
    """The era of every row of ``path`` (n,) str, reading only that column."""
    from numerpilot.data import layout
    from numerpilot.data.eras import era_labels
    from numerpilot.data.load import open_parquet

    table = open_parquet(path).read(columns=[layout.ERA])
    return era_labels(np.asarray(table.column(layout.ERA).to_numpy(zero_copy_only=False)))
