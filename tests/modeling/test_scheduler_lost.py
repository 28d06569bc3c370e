"""A remote Dask scheduler that dies (kill -9) while its tasks run, or between two stages
of the recipe: one line naming the address, never Dask's FuturesCancelledError traceback
(a "bug" exit 70) nor an AttributeError of a closed client."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from numerpilot.errors import LocalError

DASK = str(Path(sys.executable).with_name("dask"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def remote() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A real ``dask scheduler`` with one ``dask worker`` (separate processes, as on other
    machines): its address and the scheduler's process."""
    address = f"tcp://127.0.0.1:{_free_port()}"
    port = address.rsplit(":", 1)[1]
    quiet = subprocess.DEVNULL
    scheduler = subprocess.Popen(
        [DASK, "scheduler", "--host", "127.0.0.1", "--port", port,
         "--dashboard-address", "127.0.0.1:0"], stdout=quiet, stderr=quiet,
    )  # fmt: skip
    worker = subprocess.Popen(
        [DASK, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard"],
        stdout=quiet, stderr=quiet,
    )  # fmt: skip
    try:
        yield address, scheduler
    finally:
        for process in (scheduler, worker):
            process.kill()
            process.wait(30)


def _blocking_task(tmp_path: Path) -> Any:
    """A fit reading a named pipe nobody writes: it cannot end by itself."""
    from numerpilot.config import Config
    from numerpilot.modeling.cv import holdout_split
    from numerpilot.modeling.distributed import MemberTask
    from numerpilot.modeling.members import Member

    fifo = tmp_path / "train.parquet"
    os.mkfifo(fifo)
    split = holdout_split(np.array([f"{i:04d}" for i in range(1, 21)]), holdout=4, embargo=1)
    return MemberTask([str(fifo)], ["feature_a"], Member("target", "target", 7, 1.0), split,
                      Config(), 0)  # fmt: skip


def _expected(address: str) -> str:
    return (
        f"lost the connection to the Dask scheduler at {address} (1 fit unfinished): it "
        f"stopped, or the network to it failed. Start it again ('dask scheduler', then "
        f"'dask worker {address}' on each machine) and run the command again, or use "
        "--cluster local."
    )


def _wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_a_scheduler_killed_while_fitting_is_one_line(
    remote: tuple[str, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    """Dask cancels every task when the client loses its scheduler, and its wait raised
    FuturesCancelledError: 'numerpilot failed unexpectedly ... this is a bug'."""
    from numerpilot.modeling.distributed import connect, fit_on_cluster

    address, scheduler = remote
    with connect(address) as client, ThreadPoolExecutor(1) as pool:
        running = pool.submit(fit_on_cluster, client, [_blocking_task(tmp_path)])
        _wait_for(lambda: any(client.processing().values()), "the task never reached the worker")
        scheduler.kill()
        with pytest.raises(LocalError) as error:
            running.result(timeout=60)
    assert str(error.value) == _expected(address)


def test_a_scheduler_lost_between_two_stages_is_one_line(
    remote: tuple[str, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    """Killed while this machine fits the linear members (no task running): the next
    stage's tasks went to a client still reconnecting, waited for WATCH_SECONDS, then
    failed on the closed client (AttributeError: 'NoneType' object has no attribute
    'address'), or to a closed one (ClosedClientError)."""
    from numerpilot.modeling.distributed import connect, fit_on_cluster

    address, scheduler = remote
    with connect(address) as client:
        assert client.submit(sum, [1, 2], pure=False).result(timeout=60) == 3
        scheduler.kill()
        scheduler.wait(30)
        _wait_for(lambda: client.status != "running", "the client never saw the scheduler go")
        started = time.monotonic()
        with pytest.raises(LocalError) as error:
            fit_on_cluster(client, [_blocking_task(tmp_path)])
        assert time.monotonic() - started < 30
    assert str(error.value) == _expected(address)
