"""What numerpilot asks of a Dask cluster's workers: before any fit, that one has joined
the scheduler, that each can import numerpilot (a task is unpickled there) and has what the
members need, one fit at a time; while fits run, that some worker can run them."""

from __future__ import annotations

import logging
import socket
from typing import Any

from numerpilot.config import Config
from numerpilot.errors import ConfigError, LocalError
from numerpilot.modeling.dask_address import cause_of

log = logging.getLogger(__name__)

#: Seconds to wait for a first worker at a scheduler that has none (and, while tasks run,
#: for a worker to come back once every worker has left).
WORKER_TIMEOUT = 60.0


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


def worker_version() -> str:
    """numerpilot's version where this runs (a worker, asked by :func:`check_workers`)."""
    from numerpilot import __version__

    return __version__


def check_workers(client: Any, address: str) -> None:
    """A LocalError when a worker at ``address`` cannot import numerpilot (it would die
    unpickling its first task, with no word of why); a warning for workers that run another
    version of it than this machine (the tasks may not unpickle there)."""
    from numerpilot import __version__

    answers = client.run(worker_version, on_error="return")
    failed = {w: a for w, a in answers.items() if isinstance(a, BaseException)}
    if failed:
        worker, error = min(failed.items())
        raise LocalError(
            f"{len(failed)} of the {len(answers)} Dask workers at {address} cannot import "
            f"numerpilot ({worker}: {cause_of(error)}). Install numerpilot {__version__} in "
            "the Python that runs 'dask worker' on each machine, start the workers again, "
            "and run the command again, or use --cluster local."
        )
    others = sorted({str(v) for v in answers.values()} - {__version__})
    if others:
        log.warning("Dask workers at %s run numerpilot %s, this machine %s: install the "
                    "same version on every machine if their fits fail", address,
                    " and ".join(others), __version__)  # fmt: skip


def check_backend(cfg: Config) -> None:
    """Run on a worker: a ConfigError naming its host when its Python lacks what the
    members need (XGBoost, a GPU build), which this machine has (checked before any fit):
    the message of this machine's own check would send the user to their install."""
    where = f"the Dask worker on {socket.gethostname()} cannot fit these members"
    again = "start the worker again and run the command again"
    if cfg.model.backend == "xgboost":
        try:
            import xgboost  # noqa: F401
        except ImportError as error:
            raise ConfigError(
                f'{where}: model.backend = "xgboost" needs XGBoost, which its Python lacks '
                f"({error}): install it there (pip install xgboost), {again}, or set "
                'backend = "lightgbm".'
            ) from None
    if cfg.model.device != "gpu":
        return
    try:
        if cfg.model.backend == "xgboost":
            from numerpilot.modeling.devices import xgboost_device

            xgboost_device(cfg.model.device)
        else:
            from numerpilot.modeling.devices import lightgbm_gpu_params

            lightgbm_gpu_params()
    except ConfigError as error:
        said = str(error).rstrip(".")  # its advice ends in 'or set device = "cpu"'
        raise ConfigError(f"{where}: {said} (after an install there, {again}).") from None


def warn_of_threads(client: Any, address: str) -> None:
    """Warn when workers at ``address`` run several tasks at once (``dask worker``'s
    default: a thread per core): each fit holds its own rows and runs lightgbm.num_threads
    threads, which multiplies the memory (out of memory, mostly) and the threads."""
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    many = sorted((info.get("nthreads", 1), w) for w, info in workers.items())
    if not many or many[-1][0] <= 1:
        return
    nthreads, worker = many[-1]
    log.warning("Dask workers at %s run several fits at once (%s: --nthreads %d): each holds "
                "its own rows and runs lightgbm.num_threads threads, so together they need as "
                "many times one fit's memory and (unless lightgbm.num_threads = 1) more threads "
                "than the cores; start them with 'dask worker %s --nworkers N --nthreads 1' "
                "(N fits per machine at once)", address, worker, nthreads, address)  # fmt: skip


#: The warning of each way a cluster can stall (:func:`stalled`): its address, the wait.
STALLED_WARNINGS = {
    "left": "every Dask worker has left the scheduler at %s; waiting at most %g s for one",
    "paused": "every Dask worker at %s is paused (its memory is above Dask's pause "
    "threshold) and runs no fit; waiting at most %g s for one to resume",
}


def stalled(client: Any) -> str | None:
    """Why no worker of ``client``'s scheduler can run a task now: ``"left"`` (it has no
    worker), ``"paused"`` (each is paused, its memory above Dask's pause threshold, and
    runs no task: a paused worker starts none), else None (a worker whose metrics do not
    count its running tasks, a version of distributed without them, may be running one)."""
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    if not workers:
        return "left"
    if not all(worker.get("status") == "paused" for worker in workers.values()):
        return None
    counts = [worker.get("metrics", {}).get("task_counts") for worker in workers.values()]
    if any(count is None or count.get("executing") for count in counts):
        return None
    return "paused"


def stalled_error(why: str, address: str | None, unfinished: int, *, local: bool) -> LocalError:
    """The LocalError of a cluster at ``address`` (``local``: ``--cluster local``'s own)
    that stalled (:func:`stalled`) for :data:`WORKER_TIMEOUT` seconds with ``unfinished``
    fits left."""
    timeout = WORKER_TIMEOUT
    fits = f"{unfinished} fit{'s' * (unfinished != 1)} unfinished"
    if local:  # its workers are this machine's processes: out of memory, most likely
        return LocalError(
            f"every worker of --cluster local {'is paused' if why == 'paused' else 'died'} "
            f"and none came back within {timeout:g} s ({fits}); the likeliest cause is "
            "memory (each worker may use an even share of this machine's). Run the command "
            "again with fewer workers ([cluster] workers), a larger data.era_step or a "
            "smaller data.feature_set, or without --cluster."
        )
    if why == "paused":
        return LocalError(
            f"every Dask worker at {address} is paused (its memory is above Dask's pause "
            "threshold, distributed.worker.memory.pause, 80 % of its memory limit by "
            f"default) and none resumed within {timeout:g} s ({fits}). Restart the workers "
            "with more memory each ('dask worker --memory-limit'), or fewer per machine, or "
            "set a larger data.era_step or a smaller data.feature_set, and run the command "
            "again; or use --cluster local."
        )
    return LocalError(
        f"every Dask worker left the scheduler at {address} and none came back within "
        f"{timeout:g} s ({fits}). Start workers ('dask worker {address}') and run the "
        "command again, or use --cluster local."
    )
