"""What numerpilot asks of a remote Dask cluster's workers before any fit: that one has
joined the scheduler, and that each can import numerpilot (a task is unpickled there)."""

from __future__ import annotations

import logging
from typing import Any

from numerpilot.errors import LocalError
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
