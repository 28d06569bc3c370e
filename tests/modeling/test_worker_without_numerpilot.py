"""A remote Dask worker whose Python lacks numerpilot: refused before any fit, naming the
worker and what to install. It died unpickling its first task, and after a minute the run
said only that every worker had left."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import Numerpilot
from tests.pipeline.conftest import FAST_CONFIG, make_workdir
from tests.support.catalogue import Refused

from numerpilot import __version__

DASK = str(Path(sys.executable).with_name("dask"))

#: A worker preload that makes numerpilot unimportable there, as on a machine without it.
WITHOUT_NUMERPILOT = """
import sys

class _NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "numerpilot":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _NotInstalled())
"""


@pytest.fixture
def address(tmp_path: Path) -> Iterator[str]:
    """A ``dask scheduler`` with one ``dask worker`` that cannot import numerpilot."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    preload = tmp_path / "without_numerpilot.py"
    preload.write_text(WITHOUT_NUMERPILOT)
    quiet = subprocess.DEVNULL
    scheduler = subprocess.Popen(
        [DASK, "scheduler", "--host", "127.0.0.1", "--port", port,
         "--dashboard-address", "127.0.0.1:0"], stdout=quiet, stderr=quiet,
    )  # fmt: skip
    address = f"tcp://127.0.0.1:{port}"
    worker = subprocess.Popen(
        [DASK, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
         "--preload", str(preload)], stdout=quiet, stderr=quiet,
    )  # fmt: skip
    try:
        import distributed

        with distributed.Client(address, timeout=60) as client:  # its worker joined: the
            client.wait_for_workers(1, timeout=60)  # run says no 'waiting for a worker' line
        yield address
    finally:
        for process in (scheduler, worker):
            process.kill()
            process.wait(30)


@pytest.mark.bad_input("train", "a remote Dask worker without numerpilot installed (--cluster)")
def test_a_worker_without_numerpilot_is_refused_before_any_fit(
    numerpilot: Numerpilot, refused: Refused, address: str, tmp_path: Path, synthetic_dir: Path
) -> None:
    wd = make_workdir(tmp_path / "wd", synthetic_dir, FAST_CONFIG)
    started = time.monotonic()
    line = refused(numerpilot("train", "-C", str(wd), "--cluster", address), 1,
                   f"1 of the 1 Dask workers at {address} cannot import numerpilot")  # fmt: skip
    assert "No module named 'numerpilot'" in line
    assert f"Install numerpilot {__version__} in the Python that runs 'dask worker'" in line
    assert time.monotonic() - started < 50  # not the minute's wait for workers that left
    assert not (wd / "models" / "manifest.json").exists()
