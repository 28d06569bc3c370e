"""Temporary twins left by a writer killed with SIGKILL: the next write of the file removes
them (a killed `demo-data` left a twin of every big file, each run more, never cleaned),
and never the twin of a writer still at work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from tests.conftest import Numerpilot, child_env

from numerpilot.io import write_text_atomic

#: A writer that writes half of ``dest``'s new text into its twin, says so (``ready``),
#: then waits for ``go`` (or its SIGKILL) before it finishes.
_WRITER = """
import sys, time
from pathlib import Path
from numerpilot.io import write_atomic
dest, ready, go = map(Path, sys.argv[1:4])
def writer(fh):
    fh.write(b"half of the ")
    fh.flush()
    ready.touch()
    while not go.exists():
        time.sleep(0.02)
    fh.write(b"writer's text")
write_atomic(dest, writer)
"""


def _writer(dest: Path, tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """A process in the middle of writing ``dest``; returns it and its ``go`` file."""
    ready, go = tmp_path / "ready", tmp_path / "go"
    ready.unlink(missing_ok=True)
    child = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(dest), str(ready), str(go)], env=child_env()
    )
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert child.poll() is None and time.monotonic() < deadline, "the writer did not start"
        time.sleep(0.02)
    return child, go


def _twins(folder: Path, name: str) -> list[Path]:
    return sorted(folder.glob(f".{name}.*.tmp"))


def _killed_writer(dest: Path, tmp_path: Path) -> Path:
    """The twin of ``dest`` that a writer killed (SIGKILL) in its middle left."""
    child, _ = _writer(dest, tmp_path)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    (twin,) = _twins(dest.parent, dest.name)
    return twin


def test_the_next_write_removes_a_killed_writers_twin(tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    dest = folder / "validation.html"
    write_text_atomic(dest, "old")
    twin = _killed_writer(dest, tmp_path)
    assert twin.read_bytes() == b"half of the " and dest.read_text() == "old"
    write_text_atomic(dest, "new")
    assert dest.read_text() == "new" and _twins(folder, dest.name) == []


def test_a_live_writers_twin_is_left_alone(tmp_path: Path) -> None:
    dest = tmp_path / "out.json"
    child, go = _writer(dest, tmp_path)
    try:
        write_text_atomic(dest, "another process's text")
        assert len(_twins(tmp_path, dest.name)) == 1  # the live writer's, kept
    finally:
        go.touch()
    assert child.wait(timeout=60) == 0  # its rename found its twin
    assert dest.read_bytes() == b"half of the writer's text"
    assert _twins(tmp_path, dest.name) == []


def test_a_file_that_only_looks_like_a_twin_stays(tmp_path: Path) -> None:
    dest = tmp_path / "a.csv"
    kept = [tmp_path / ".a.csv.mine.tmp", tmp_path / ".b.csv.abcd1234.tmp", tmp_path / "a.csv.tmp"]
    for path in kept:
        path.write_text("a user's")
    write_text_atomic(dest, "x")
    assert all(p.read_text() == "a user's" for p in kept)


def test_demo_data_after_a_killed_one_leaves_no_twins(
    numerpilot: Numerpilot, tmp_path: Path
) -> None:
    """Each killed `demo-data` left a twin of train.parquet (gigabytes at Numerai's sizes)
    that no later run removed, until the disk was full."""
    out = tmp_path / "demo"
    sizes = ("--train-eras", "10", "--validation-eras", "4", "--rows-per-era", "50",
             "--features", "24", "--live-rows", "10")  # fmt: skip
    assert numerpilot("demo-data", str(out), *sizes).code == 0
    twin = _killed_writer(out / "train.parquet", tmp_path)
    assert twin.exists()
    assert numerpilot("demo-data", str(out), *sizes).code == 0
    assert sorted(out.glob("*.tmp")) == [] and sorted(out.glob(".*.tmp")) == []
    assert len(pd.read_parquet(out / "train.parquet")) > 0
    assert os.listdir(out) and not (out / ".synthetic.writing").exists()
