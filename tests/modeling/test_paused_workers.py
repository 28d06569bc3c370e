"""Dask workers that pause: a worker whose memory passes Dask's pause threshold (80 % of its
memory limit by default; memory a fit does not give back to the system keeps it there)
starts no task until it falls back, so a run waited for ever with its bar standing still.

The threshold is lowered here (``distributed.worker.memory.pause``, as a user's Dask config
may set it) instead of filling the workers' memory: the workers are paused all the same."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import child_env
from tests.pipeline.conftest import FAST_CONFIG, make_workdir

from numerpilot.errors import LocalError

#: A pause threshold every worker process is above as soon as it starts.
PAUSED_AT_ONCE = "0.01"


@pytest.mark.timeout(120)
def test_local_workers_do_not_pause(tmp_path: Path, synthetic_dir: Path) -> None:
    """``--cluster local`` sizes its workers by numerpilot's memory plan, one fit each at a
    time: Dask's pause (meant for data it can spill) only stopped the fits for ever."""
    wd = make_workdir(tmp_path / "wd", synthetic_dir, FAST_CONFIG + "\n[cluster]\nworkers = 1\n")
    env = child_env(DASK_DISTRIBUTED__WORKER__MEMORY__PAUSE=PAUSED_AT_ONCE)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "numerpilot", "train", "-C", str(wd), "--cluster", "local"],
            env=env, capture_output=True, text=True, timeout=90, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail("train --cluster local waited for ever on a paused worker")
    assert done.returncode == 0, done.stderr
    assert (wd / "models" / "manifest.json").is_file()


def _statuses(client: Any) -> list[str]:
    """The status of each worker of ``client``'s scheduler."""
    workers = client.scheduler_info(n_workers=-1)["workers"]
    return [str(worker["status"]) for worker in workers.values()]


@pytest.mark.timeout(120)
def test_a_cluster_whose_workers_all_paused_is_given_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """A remote cluster whose every worker is paused, none running a fit: the run ends after
    WORKER_TIMEOUT (here 1 s), saying why and what to do, instead of waiting for ever."""
    import dask
    import distributed

    import numerpilot.modeling.distributed as dist
    from numerpilot.modeling import dask_workers

    monkeypatch.setattr(dask_workers, "WORKER_TIMEOUT", 1.0)
    monkeypatch.setattr(dist, "WATCH_SECONDS", 0.2)
    with dask.config.set({"distributed.worker.memory.pause": float(PAUSED_AT_ONCE)}):
        cluster = distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, protocol="tcp",
            memory_limit="1GiB", dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        )  # fmt: skip
    with cluster, distributed.Client(cluster) as client:
        deadline = time.monotonic() + 30
        while _statuses(client) != ["paused"]:  # its first look at its memory: at once
            assert time.monotonic() < deadline, _statuses(client)
            time.sleep(0.05)
        future = client.submit(sum, [1, 2], pure=False)
        outcome: list[BaseException | list[object]] = []

        def wait() -> None:
            try:
                outcome.append(list(dist.completed(client, [future])))
            except BaseException as error:  # what the test looks at
                outcome.append(error)

        started = time.monotonic()
        waiter = threading.Thread(target=wait, daemon=True)
        waiter.start()
        waiter.join(60)
        assert outcome, "the fits waited for ever on a paused worker"
        assert time.monotonic() - started < 30
    (error,) = outcome
    assert isinstance(error, LocalError)
    address = cluster.scheduler_address
    assert str(error) == (
        f"every Dask worker at {address} is paused (its memory is above Dask's pause "
        "threshold, distributed.worker.memory.pause, 80 % of its memory limit by default) "
        "and none resumed within 1 s (1 fit unfinished). Restart the workers with more "
        "memory each ('dask worker --memory-limit'), or fewer per machine, or set a larger "
        "data.era_step or a smaller data.feature_set, and run the command again; or use "
        "--cluster local."
    )


class _Scheduler:
    """What a scheduler says of its workers (``Client.scheduler_info``)."""

    def __init__(self, *workers: dict[str, Any]) -> None:
        self.workers = {f"tcp://10.0.0.{i}:1": w for i, w in enumerate(workers)}

    def scheduler_info(self, n_workers: int) -> dict[str, Any]:
        return {"workers": self.workers}


def test_paused_workers_that_do_not_count_their_tasks_are_not_given_up() -> None:
    """A distributed without task counts in its metrics read as 'running nothing': paused
    workers still finishing their fits were given up after 60 s."""
    from numerpilot.modeling.dask_workers import stalled

    busy = {"status": "paused", "metrics": {"task_counts": {"executing": 1}}}
    idle = {"status": "paused", "metrics": {"task_counts": {}}}
    uncounted = {"status": "paused", "metrics": {}}
    assert stalled(_Scheduler(idle, idle)) == "paused"
    assert stalled(_Scheduler(idle, busy)) is None
    assert stalled(_Scheduler(idle, uncounted)) is None
    assert stalled(_Scheduler(idle, {"status": "running"})) is None
    assert stalled(_Scheduler()) == "left"


@pytest.mark.parametrize("why", ["left", "paused"])
def test_a_local_cluster_that_stalled_is_told_in_local_terms(why: str) -> None:
    """--cluster local's workers that died were told to start 'dask worker tcp://127.0...'
    and to use --cluster local, the cluster they were."""
    from numerpilot.modeling.dask_workers import stalled_error

    said = str(stalled_error(why, "tcp://127.0.0.1:4567", 2, local=True))
    assert said.startswith("every worker of --cluster local")
    assert (
        "dask worker" not in said and "127.0.0.1" not in said and "use --cluster local" not in said
    )
    assert "fewer workers ([cluster] workers)" in said and "(2 fits unfinished)" in said
