"""The size of ``--cluster local`` refused: the count offered instead fits the cores too,
and the message says where the free memory comes from."""

from __future__ import annotations

import pytest

from numerpilot.errors import DataError
from numerpilot.modeling.distributed import local_workers

GIB = 1024**3


def test_the_count_offered_fits_the_cores_as_well_as_the_memory() -> None:
    """64 workers asked on 2 cores with room for 40: it offered 40 fits at once on 2 cores."""
    with pytest.raises(DataError) as error:
        local_workers(64, per_worker=GIB, free=40 * GIB, cores=2, threads=1)
    assert "set cluster.workers = 2 (or 0: chosen for you)" in str(error.value)


def test_the_memory_offered_is_the_budget_beside_this_process() -> None:
    """train.memory_gb = 0.5 on a large machine: '0.08 GiB is free' read as the machine's."""
    with pytest.raises(DataError) as error:
        local_workers(0, per_worker=GIB, free=GIB // 2, cores=16, threads=1)
    message = str(error.value)
    assert "0.50 GiB is free beside this process (of its budget: train.memory_gb" in message
    assert "raise train.memory_gb" in message
    assert "cluster.workers" not in message  # not even one fits: no count to offer


def test_workers_asked_beyond_the_cores_at_several_threads_are_warned_of(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """5 workers at 2 LightGBM threads on 2 cores ran silently: LightGBM's threads wait for
    each other at every split when the cores are shared (see numerpilot.threads)."""
    assert local_workers(5, per_worker=GIB, free=64 * GIB, cores=2, threads=2) == 5  # as asked
    assert caplog.messages == [
        "cluster.workers = 5 at 2 threads each runs 10 threads on 2 cores, which slows every "
        "fit down; set lightgbm.num_threads = 1 (one fit per core), or cluster.workers = 0 "
        "(chosen for you: 1 here)"
    ]
    caplog.clear()
    assert local_workers(5, per_worker=GIB, free=64 * GIB, cores=2, threads=1) == 5
    assert local_workers(2, per_worker=GIB, free=64 * GIB, cores=4, threads=2) == 2
    assert not caplog.messages  # one thread each, or within the cores: nothing to say
