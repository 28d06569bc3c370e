"""A dataset file a Dask worker does not have: one line saying whose copy is missing and
what to do, not 'Run numerpilot download' (which fetches to this machine, not the
workers')."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import Numerpilot
from tests.pipeline.conftest import FAST_CONFIG, TWO_WORKERS, make_workdir
from tests.support.catalogue import Refused

from numerpilot.errors import DataError


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    from numerpilot.modeling.distributed import connect

    with connect("local", n_workers=1) as client:
        yield client


def test_this_machines_path_missing_on_a_worker(
    client: Any, tmp_path: Path, synthetic_dir: Path
) -> None:
    """Without cluster.data_url a worker reads this machine's path: one on another machine,
    without a shared folder, has nothing there."""
    from numerpilot.modeling.cluster_files import check_files

    gone = tmp_path / "elsewhere" / "train.parquet"
    with pytest.raises(DataError) as error:
        check_files(client, [str(gone)], [gone])
    assert str(error.value) == (
        f"a Dask worker (on {socket.gethostname()}) has no file {gone}, this machine's path "
        "of the dataset: give the workers the data folder at the same path (a shared "
        "folder), or set cluster.data_url to a copy they can read (e.g. s3://bucket/prefix)."
    )


@pytest.mark.bad_input("train", "`cluster.data_url` a folder without the dataset (--cluster)")
def test_a_data_url_folder_without_the_dataset(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, synthetic_dir: Path
) -> None:
    """It said: '... is missing. Run numerpilot download (or numerpilot demo-data DIR ...)',
    which fetches to this machine's data folder, not to the workers' copy."""
    empty = tmp_path / "mirror"
    empty.mkdir()
    config = FAST_CONFIG + TWO_WORKERS + f'data_url = "{empty}"\n'
    wd = make_workdir(tmp_path / "wd", synthetic_dir, config)
    line = refused(numerpilot("train", "-C", str(wd), "--cluster", "local"), 1,
                   f"has no file {empty / 'v5.2' / 'train.parquet'}, the workers' copy under "
                   "cluster.data_url: copy the dataset folder there")  # fmt: skip
    assert "numerpilot download" not in line
    assert not (wd / "models" / "manifest.json").exists()
