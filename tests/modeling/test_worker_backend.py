"""A Dask worker whose Python lacks what the members need (XGBoost, a GPU build): this
machine has it, so the refusal must name the worker, not "this install"."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from numerpilot.config import Config
from numerpilot.errors import ConfigError

#: A worker preload after which ``import xgboost`` fails there as where it is not installed.
WITHOUT_XGBOOST = """\
import sys


class NoXGBoost:
    def find_spec(self, name, path=None, target=None):
        if name == "xgboost":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


sys.meta_path.insert(0, NoXGBoost())
"""


@pytest.fixture(scope="module")
def worker_without_xgboost(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A client of a one-worker cluster whose worker cannot import xgboost."""
    import distributed

    preload = tmp_path_factory.mktemp("preload") / "no_xgboost.py"
    preload.write_text(WITHOUT_XGBOOST)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, protocol="tcp",
            preload=[str(preload)], dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        ) as cluster,
        distributed.Client(cluster) as client,
    ):  # fmt: skip
        yield client


def test_a_worker_without_xgboost_is_named(
    worker_without_xgboost: Any, synthetic_dir: Path
) -> None:
    """It said 'model.backend = "xgboost" needs XGBoost, which this install lacks: run pip
    install ...' on a machine where XGBoost is installed: the worker's was meant."""
    pytest.importorskip("xgboost")  # here it is: only the worker lacks it
    from numerpilot.modeling.distributed import fit_on_cluster

    with pytest.raises(ConfigError) as error:
        fit_on_cluster(worker_without_xgboost, [_task(synthetic_dir, backend="xgboost")])
    assert str(error.value) == (
        f"the Dask worker on {socket.gethostname()} cannot fit these members: "
        'model.backend = "xgboost" needs XGBoost, which its Python lacks (No module named '
        "'xgboost'): install it there (pip install xgboost), start the worker again and run "
        'the command again, or set backend = "lightgbm".'
    )


def test_a_worker_without_a_gpu_build_is_named(
    worker_without_xgboost: Any, synthetic_dir: Path
) -> None:
    """model.device = "gpu" on a worker whose LightGBM (the PyPI wheel) has no GPU build:
    refused by its host, not as this machine's LightGBM."""
    from numerpilot.modeling.devices import lightgbm_gpu_params
    from numerpilot.modeling.distributed import fit_on_cluster

    with contextlib.suppress(ConfigError):
        lightgbm_gpu_params()
        pytest.skip("this LightGBM (and so the worker's) has GPU support")
    with pytest.raises(ConfigError) as error:
        fit_on_cluster(worker_without_xgboost, [_task(synthetic_dir, device="gpu")])
    message = str(error.value)
    assert message.startswith(
        f"the Dask worker on {socket.gethostname()} cannot fit these members: "
        'model.device = "gpu", but this LightGBM has no GPU support ('
    )
    assert message.endswith(
        'or set device = "cpu" (after an install there, start the worker again and run the '
        "command again)."
    )


def _task(synthetic_dir: Path, **model: str) -> Any:
    """A task of one member on the synthetic train file, with these [model] settings."""
    from numerpilot.modeling.cv import holdout_split
    from numerpilot.modeling.distributed import MemberTask
    from numerpilot.modeling.members import Member

    features = json.loads((synthetic_dir / "features.json").read_text())["feature_sets"]
    split = holdout_split(np.array([f"{i:04d}" for i in range(1, 21)]), holdout=4, embargo=1)
    cfg = Config.model_validate({"model": model})
    return MemberTask([str(synthetic_dir / "train.parquet")], features["small"],
                      Member("target", "target", 0, 1.0), split, cfg, 0)  # fmt: skip


def test_workers_that_run_several_fits_at_once_are_warned_of(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """'dask worker ADDRESS' runs a task per core at once: as many fits, each on
    lightgbm.num_threads threads and holding its rows; it ran without a word."""
    import distributed

    from numerpilot.modeling.distributed import connect

    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=True, protocol="tcp",
        dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    ) as cluster:  # fmt: skip
        (worker,) = cluster.scheduler.workers
        with connect(cluster.scheduler_address):
            pass
    address = cluster.scheduler_address
    assert (
        f"Dask workers at {address} run several fits at once ({worker}: --nthreads 2): each "
        "holds its own rows and runs lightgbm.num_threads threads, so together they need as "
        "many times one fit's memory and (unless lightgbm.num_threads = 1) more threads than "
        f"the cores; start them with 'dask worker {address} --nworkers N --nthreads 1' (N fits "
        "per machine at once)"
    ) in caplog.messages
