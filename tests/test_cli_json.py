"""`--json` to the process's own output: the JSON alone, written into what the shell
redirected it to (a file, appended to), never a rename over `/dev/stdout`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.conftest import Numerpilot, child_env
from tests.support.catalogue import Refused


@pytest.fixture
def predictions(synthetic_dir: Path, tmp_path: Path) -> Path:
    val = pd.read_parquet(synthetic_dir / "validation.parquet", columns=["era"])
    path = tmp_path / "pred.parquet"
    values = np.random.default_rng(0).random(len(val))
    pd.DataFrame({"prediction": values}, index=val.index).to_parquet(path)
    return path


@pytest.mark.parametrize("target", ["/dev/fd/1", "/proc/self/fd/1"])
def test_score_json_to_its_own_output_redirected_to_a_file(
    target: str, predictions: Path, synthetic_dir: Path, tmp_path: Path
) -> None:
    """`score --json /dev/stdout >> out.json` was refused as 'not a score report' (exit 2),
    and without that file's earlier line tried a rename into /dev/fd (exit 1) or, as
    root, put a plain file in place of /dev/stdout for every later process."""
    out = tmp_path / "out.json"
    out.write_text("earlier line\n", encoding="utf-8")
    args = ["score", str(predictions), "--data", str(synthetic_dir / "validation.parquet"),
            "--json", target, "-C", str(tmp_path)]  # fmt: skip
    with out.open("a", encoding="utf-8") as stdout:
        done = subprocess.run(
            [sys.executable, "-m", "numerpilot", *args], env=child_env(), stdout=stdout,
            stderr=subprocess.PIPE, text=True, timeout=300, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    first, _, rest = out.read_text(encoding="utf-8").partition("\n")
    assert first == "earlier line"  # appended to, as the shell's >> asked
    assert set(json.loads(rest)) == {"prediction"}  # the JSON alone, no "Wrote ..." line
    assert not list(tmp_path.glob(".*.tmp"))


def test_the_standard_streams_are_written_into() -> None:
    from numerpilot.io import is_stream, own_descriptor

    assert own_descriptor(Path("/dev/stdout")) == 1 and own_descriptor(Path("/dev/stderr")) == 2
    assert own_descriptor(Path("/dev/fd/3")) == 3 and own_descriptor(Path("/proc/self/fd/7")) == 7
    assert is_stream(Path("/dev/stdout")) and is_stream(Path("/dev/fd/1/../1"))
    assert own_descriptor(Path("/dev/shm/scores.json")) is None  # a folder like any other
    assert own_descriptor(Path("fd/1")) is None  # a relative path is the user's own file


@pytest.mark.bad_input("score", "`--json /dev/fd/9`, a descriptor that is not open")
def test_a_descriptor_not_open_for_writing_is_refused_before_any_work(
    predictions: Path, synthetic_dir: Path, tmp_path: Path, refused: Refused,
    numerpilot: Numerpilot,
) -> None:  # fmt: skip
    """It scored everything, then said only 'Bad file descriptor.'."""
    outcome = numerpilot("score", str(predictions), "--data",
                         str(synthetic_dir / "validation.parquet"), "--json", "/dev/fd/97",
                         "-C", str(tmp_path))  # fmt: skip
    refused(outcome, 2, "--json /dev/fd/97: descriptor 97 is not open for writing")


def test_atomic_path_into_a_redirected_output_appends(tmp_path: Path) -> None:
    """atomic_path('/dev/stdout') yielded the path itself, which its callers reopened with
    truncation: what the shell had appended to was lost."""
    out = tmp_path / "out.txt"
    out.write_text("earlier line\n", encoding="utf-8")
    code = ("from pathlib import Path; from numerpilot.io import atomic_path\n"
            "with atomic_path(Path('/dev/stdout')) as p: p.write_text('{}\\n')")  # fmt: skip
    with out.open("a", encoding="utf-8") as stdout:
        subprocess.run([sys.executable, "-c", code], env=child_env(), stdout=stdout,
                       check=True, timeout=60)  # fmt: skip
    assert out.read_text(encoding="utf-8") == "earlier line\n{}\n"
