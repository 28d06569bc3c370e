"""The Dask path's failures: what is not a scheduler, a scheduler without workers, workers
that die, remote errors, Ctrl-C on a LocalCluster, and a stale copy of the data."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tests.conftest import Numerpilot
from tests.pipeline.conftest import FAST_CONFIG, make_workdir
from tests.support.catalogue import Refused

from numerpilot.errors import DataError, LocalError

HTTP_400 = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


@contextlib.contextmanager
def listener(reply: bytes | None) -> Iterator[str]:
    """A TCP port on 127.0.0.1 that accepts and never answers (``reply`` None) or answers
    every request with ``reply`` (a web server); its ``tcp://`` address."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted: list[socket.socket] = []

    def serve() -> None:
        with contextlib.suppress(OSError):  # closed at the end
            while True:
                conn, _ = server.accept()
                accepted.append(conn)
                if reply is not None:
                    conn.recv(65536)
                    conn.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()
        for conn in accepted:
            conn.close()


@pytest.fixture
def workdir(tmp_path: Path, synthetic_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A work directory whose training data must not be loaded (a remote address is
    checked first)."""
    import numerpilot.pipeline.train as train

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the training data was loaded before the scheduler was asked")

    monkeypatch.setattr(train, "load_era_data", refuse)
    return make_workdir(tmp_path / "wd", synthetic_dir)


@pytest.mark.bad_input("train", "--cluster at a port that takes the connection and never answers")
def test_a_port_that_never_answers_fails_within_the_timeout(
    numerpilot: Numerpilot, refused: Refused, workdir: Path
) -> None:
    """Dask's connect bounds the TCP connection, not the handshake: a listener that accepts
    and stays silent used to hang train forever."""
    with listener(None) as address:
        started = time.monotonic()
        outcome = numerpilot("train", "-C", str(workdir), "--cluster", address)
        took = time.monotonic() - started
    refused(outcome, 1, f"cannot reach the Dask scheduler at {address}",
            "it took the connection but no Dask scheduler answered within 6 s",
            "--cluster local")  # fmt: skip
    assert took < 30  # 6 s, give or take a loaded machine


@pytest.mark.bad_input("train", "--cluster at a web server (the dashboard's port)")
def test_a_web_server_is_not_a_scheduler(
    numerpilot: Numerpilot, refused: Refused, workdir: Path
) -> None:
    """An HTTP reply (the dashboard's port) was read as a frame length: a MemoryError, then
    'This machine ran out of memory'."""
    with listener(HTTP_400) as address:
        outcome = numerpilot("train", "-C", str(workdir), "--cluster", address)
    line = refused(outcome, 1, f"{address} is not a Dask scheduler", "--cluster local")
    assert "memory" not in line


def test_a_worker_address_is_not_a_scheduler() -> None:
    import distributed

    from numerpilot.modeling.dask_address import check_scheduler

    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
        dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    ) as cluster:  # fmt: skip
        check_scheduler(cluster.scheduler_address)  # the scheduler answers
        worker = next(iter(cluster.scheduler_info["workers"]))
        with pytest.raises(
            LocalError, match=f"{worker} is not a Dask scheduler .it is a Dask Worker"
        ):
            check_scheduler(worker)


def test_a_scheduler_without_workers_is_refused_after_the_wait(
    numerpilot: Numerpilot, tmp_path: Path, synthetic_dir: Path,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """A task sent to a scheduler without workers waits forever: train waits for a first
    worker (WORKER_TIMEOUT, here 1 s), saying so, then fails naming the address."""
    import distributed

    from numerpilot.modeling import dask_workers

    monkeypatch.setattr(dask_workers, "WORKER_TIMEOUT", 1.0)
    wd = make_workdir(tmp_path / "wd", synthetic_dir)
    with distributed.LocalCluster(
        n_workers=0, processes=False, protocol="tcp",
        dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    ) as cluster:  # fmt: skip
        address = cluster.scheduler_address
        started = time.monotonic()
        outcome = numerpilot("train", "-C", str(wd), "--cluster", address)
        took = time.monotonic() - started
    assert outcome.code == 1, outcome.err
    assert "Traceback" not in outcome.out + outcome.err
    errors = [line for line in outcome.err.splitlines() if line.startswith("Error:")]
    assert errors == [
        f"Error: no Dask worker joined the scheduler at {address} within 1 s. Start one on "
        f"each machine ('dask worker {address}') or use --cluster local."
    ]
    assert f"waiting for a Dask worker at {address}" in caplog.text + outcome.err
    assert took < 60
    assert not (wd / "models" / "manifest.json").exists()


def test_a_cluster_whose_workers_all_left_is_given_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """A remote cluster that loses every worker mid-run: Dask waits for one for ever; the
    fits give up after WORKER_TIMEOUT (here 1 s) without one, naming the address."""
    import distributed

    import numerpilot.modeling.distributed as dist
    from numerpilot.modeling import dask_workers

    monkeypatch.setattr(dask_workers, "WORKER_TIMEOUT", 1.0)
    monkeypatch.setattr(dist, "WATCH_SECONDS", 0.2)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, protocol="tcp",
        dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    ) as cluster, distributed.Client(cluster) as client:  # fmt: skip
        quick, slow = client.submit(sum, [1, 2]), client.submit(time.sleep, 600)
        assert [f.result() for f in dist.completed(client, [quick])] == [3]
        cluster.scale(0)
        started = time.monotonic()
        with pytest.raises(LocalError) as error:
            list(dist.completed(client, [slow]))
        assert time.monotonic() - started < 30
    assert str(error.value) == (
        f"every Dask worker left the scheduler at {cluster.scheduler_address} and none came "
        f"back within 1 s (1 fit unfinished). Start workers ('dask worker "
        f"{cluster.scheduler_address}') and run the command again, or use --cluster local."
    )


@pytest.fixture(scope="module")
def one_worker() -> Iterator[Any]:
    """A client of ``--cluster local`` with one worker; a task whose worker dies once is
    failed at once (allowed-failures 0, Dask's default is 3)."""
    import dask
    import distributed  # noqa: F401  (its config defaults first: set() would drop them at exit)

    from numerpilot.modeling.distributed import connect

    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        connect("local", n_workers=1) as client,
    ):
        yield client


def _worker_pid(client: Any) -> int:
    """The pid of the one worker (after a death, of the one its nanny started again)."""
    client.wait_for_workers(1, timeout=60)
    (pid,) = client.run(os.getpid).values()
    return int(pid)


def _task(path: Path) -> Any:
    from numerpilot.config import Config
    from numerpilot.modeling.cv import holdout_split
    from numerpilot.modeling.distributed import MemberTask
    from numerpilot.modeling.members import Member

    split = holdout_split(np.array([f"{i:04d}" for i in range(1, 21)]), holdout=4, embargo=1)
    return MemberTask([str(path)], ["feature_a"], Member("target", "target", 7, 1.0), split,
                      Config(), 0)  # fmt: skip


@pytest.mark.parametrize(
    ("what", "doing"),
    [("fit", "fitting target seed 7"), ("check", "checking the workers' copy of the data")],
)
def test_a_worker_that_dies_is_one_line_naming_what_it_did(
    one_worker: Any, tmp_path: Path, synthetic_dir: Path, what: str, doing: str
) -> None:
    """A real death: the task reads a named pipe nobody writes (it cannot end by itself)
    and its worker process is killed; Dask's KilledWorker becomes one LocalError line."""
    from numerpilot.modeling.cluster_files import check_files
    from numerpilot.modeling.distributed import fit_on_cluster

    fifo = tmp_path / "train.parquet"
    os.mkfifo(fifo)
    pid = _worker_pid(one_worker)
    with ThreadPoolExecutor(1) as pool:
        if what == "fit":
            running = pool.submit(fit_on_cluster, one_worker, [_task(fifo)])
        else:
            running = pool.submit(
                check_files, one_worker, [str(fifo)], [synthetic_dir / "train.parquet"]
            )
        deadline = time.monotonic() + 60
        while not any(one_worker.processing().values()):
            assert time.monotonic() < deadline, "the task never reached the worker"
            assert not running.done(), running.exception()
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(LocalError) as error:
            running.result(timeout=60)
    assert str(error.value).startswith(f"a Dask worker died 1 time while {doing} (out of memory?")


def test_a_task_error_of_numerpilot_keeps_its_message(one_worker: Any, tmp_path: Path) -> None:
    from numerpilot.modeling.distributed import fit_on_cluster

    missing = tmp_path / "gone" / "train.parquet"
    with pytest.raises(DataError, match=f"{missing} is missing"):
        fit_on_cluster(one_worker, [_task(missing)])


def test_local_workers_ignore_the_terminals_ctrl_c(one_worker: Any) -> None:
    """Ctrl-C reaches the whole process group: the command stops its LocalCluster, whose
    workers no longer each die printing a KeyboardInterrupt traceback."""
    pid = _worker_pid(one_worker)
    (handler,) = one_worker.run(signal.getsignal, signal.SIGINT).values()
    assert handler == signal.SIG_IGN
    os.kill(pid, signal.SIGINT)
    assert one_worker.submit(sum, [1, 2], pure=False).result(timeout=60) == 3
    assert list(one_worker.run(os.getpid).values()) == [pid]  # the very worker answered


def test_the_footprint_tells_a_copy_from_another_file(tmp_path: Path, synthetic_dir: Path) -> None:
    """Rows, columns and each column chunk's counts, sizes and statistics: a copy agrees,
    a file with another column, or another target's values in a column, does not."""
    import shutil

    import pyarrow.parquet as pq

    from numerpilot.modeling.cluster_files import footprint

    source = synthetic_dir / "train.parquet"
    shutil.copyfile(source, tmp_path / "copy.parquet")
    assert footprint(tmp_path / "copy.parquet") == footprint(source)
    table = pq.read_table(source)
    renamed = [RENAMED.get(name, name) for name in table.column_names]
    pq.write_table(table.rename_columns(renamed), tmp_path / "renamed.parquet")
    at = table.schema.get_field_index("target")
    other = table.set_column(at, "target", table["target_ender_20"])
    pq.write_table(other, tmp_path / "other.parquet")
    rows, digest = footprint(source)
    for name in ("renamed", "other"):
        there_rows, there_digest = footprint(tmp_path / f"{name}.parquet")
        assert there_rows == rows and there_digest != digest, name


#: A stale release: one target under another name.
RENAMED = {"target_xerxes_60": "target_xerxes_62"}


def test_a_stale_copy_with_the_same_rows_is_refused(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, synthetic_dir: Path
) -> None:
    """The copy under cluster.data_url has every row but another target column (a stale
    release): compared by footer, not row count, it is refused before any fit."""
    import pyarrow.parquet as pq

    stale = tmp_path / "stale" / "v5.2"
    stale.mkdir(parents=True)
    table = pq.read_table(synthetic_dir / "train.parquet")
    renamed = [RENAMED.get(name, name) for name in table.column_names]
    pq.write_table(table.rename_columns(renamed), stale / "train.parquet")
    config = FAST_CONFIG + f'\n[cluster]\nworkers = 1\ndata_url = "{stale.parent.as_uri()}"\n'
    wd = make_workdir(tmp_path / "wd", synthetic_dir, config)
    outcome = numerpilot("train", "-C", str(wd), "--cluster", "local")
    url = (stale / "train.parquet").as_uri()
    refused(outcome, 1, f"the workers' {url} has the {table.num_rows:,} rows of",
            "other columns or values", "copy the current dataset")  # fmt: skip
    assert not (wd / "models" / "manifest.json").exists()
