"""check-upload's runtime logic on bad inputs, run with this interpreter (numerpilot blocked).

The replica environment itself is exercised in test_deploy_replica.py; here the runner and
the limits run under ``sys.executable`` so each case costs about a second.
"""

from __future__ import annotations

import _thread
import contextlib
import json
import re
import shutil
import signal
import sys
import threading
import time
import types
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import pandas as pd
import pytest
from tests.model_upload.conftest import folder_held_elsewhere

from numerpilot.errors import DataError
from numerpilot.model_upload import runtime
from numerpilot.model_upload.build import BuiltUpload, pickle_model, sidecar_path
from numerpilot.model_upload.check import MESSAGE_LIMIT, CheckResult, Limits, run_in_runtime
from numerpilot.model_upload.images import RuntimeImage, image_for, python_minor
from numerpilot.modeling.manifest import load_manifest
from numerpilot.modeling.store import load_model_strings

IMAGE: RuntimeImage = image_for(python_minor())
PY = Path(sys.executable)


def _check(pickle_path: Path, live: Path, **kwargs: Any) -> CheckResult:
    return run_in_runtime(PY, pickle_path, live, image=IMAGE, **kwargs)


def _dump(fn: Callable[..., Any], path: Path) -> Path:
    path.write_bytes(cloudpickle.dumps(fn))
    return path


def test_built_pickle_passes(built: BuiltUpload, live_file: Path) -> None:
    result = _check(built.path, live_file)
    assert result.passed, result
    assert result.rows == 60
    assert result.wall_seconds > 0
    assert result.peak_rss_mb > 10


def test_three_arguments(live_file: Path, tmp_path: Path) -> None:
    def model(a: Any, b: Any, c: Any) -> Any:
        return None

    result = _check(_dump(model, tmp_path / "m.pkl"), live_file)
    assert not result.passed
    assert result.message.startswith("Invalid pickle function - ")
    assert result.message.endswith("must have 1 or 2 arguments")
    assert "exactly 1 or 2 parameters" in result.fix


def test_series_instead_of_dataframe(live_file: Path, tmp_path: Path) -> None:
    def model(live: pd.DataFrame) -> pd.Series:
        return pd.Series(0.5, index=live.index)

    result = _check(_dump(model, tmp_path / "m.pkl"), live_file)
    assert re.fullmatch(
        r"Pickle function is invalid - returned <class "
        r"'pandas(\.core\.series)?\.Series'> instead of pd\.DataFrame",
        result.message,
    )
    assert "to_frame('prediction')" in result.fix


def test_features_missing_from_live(trained_dir: Path, live_file: Path, tmp_path: Path) -> None:
    models = trained_dir / "models"
    manifest = load_manifest(models)
    texts = load_model_strings(models, manifest)  # (a manifest unlike its models is refused)
    manifest = replace(manifest, features=[*manifest.features, "feature_from_v9"])
    path = tmp_path / "m.pkl"
    path.write_bytes(pickle_model(manifest.payload(texts)))
    result = _check(path, live_file)
    assert not result.passed
    assert result.stage == "call"
    assert "live data lacks 1 of the model's 17 features (feature_from_v9)" in result.message
    assert "retrain" in result.fix


def test_pickle_from_another_python_minor_by_sidecar(
    built: BuiltUpload, live_file: Path, tmp_path: Path
) -> None:
    path = tmp_path / "m.pkl"
    path.write_bytes(built.path.read_bytes())
    info = json.loads(built.sidecar.read_text())
    sidecar_path(path).write_text(json.dumps({**info, "python": "3.99"}))
    result = _check(path, live_file)
    assert result.message == f"Pickle incompatible with {IMAGE.python}"
    assert f"Rebuild the pickle with Python {IMAGE.python}" in result.fix


class _OtherPythonCode:
    """Unpickles like a code object of another Python minor (wrong CodeType arguments)."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (types.CodeType, (0, 0, 0, 0, 0, 0, b"", (), (), (), "f", "f", 1, b""))


def test_pickle_from_another_python_minor_without_sidecar(live_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "foreign.pkl"
    path.write_bytes(cloudpickle.dumps(_OtherPythonCode()))
    result = _check(path, live_file)
    assert result.message == f"Pickle incompatible with {IMAGE.python}"
    assert "TypeError" in "\n".join(result.log_tail)


def test_pickle_that_imports_numerpilot(trained_dir: Path, live_file: Path, tmp_path: Path) -> None:
    manifest = load_manifest(trained_dir / "models")
    payload = manifest.payload(load_model_strings(trained_dir / "models", manifest))
    path = tmp_path / "byref.pkl"  # runtime not registered by value: pickled by reference
    path.write_bytes(cloudpickle.dumps(runtime.make_model(payload, False)))
    result = _check(path, live_file)
    assert result.message == "Import error reading pickle - No module named 'numerpilot'"
    assert "by value" in result.fix


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        (float("nan"), "Pickle function returned at least 1 NaN prediction"),
        (1.5, "Ensure values are between 0 and 1."),
        (0.5, "breaks Numerai's Classic rules"),
    ],
)
def test_bad_values(value: float, needle: str, live_file: Path, tmp_path: Path) -> None:
    def model(live: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"prediction": value}, index=live.index)

    result = _check(_dump(model, tmp_path / "m.pkl"), live_file)
    assert not result.passed
    assert needle in result.message, result


@pytest.mark.parametrize("columns", [["score"], ["prediction", "x"]])
def test_columns_numerai_refuses(columns: list[str], live_file: Path, tmp_path: Path) -> None:
    """Valid values under a name Numerai does not read (or beside an extra column) fail
    the check, as Numerai's rules fail the upload."""

    def model(live: pd.DataFrame) -> pd.DataFrame:
        values = live.index.str.len() / 100 + np.arange(len(live)) / 1e4
        return pd.DataFrame(dict.fromkeys(columns, values), index=live.index)

    result = _check(_dump(model, tmp_path / "m.pkl"), live_file)
    assert not result.passed and result.stage == "rules"
    assert f"returns the columns {', '.join(columns)}" in result.message
    assert "'prediction'" in result.fix


def test_missing_live_ids(live_file: Path, tmp_path: Path) -> None:
    def model(live: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"prediction": live.index.str.len() / 100}, index=live.index)[:-1]

    result = _check(_dump(model, tmp_path / "m.pkl"), live_file)
    assert result.message == "Pickle function returned 59 predictions, expected 60"


def test_wall_clock_limit(live_file: Path, tmp_path: Path) -> None:
    def model(live: pd.DataFrame) -> pd.DataFrame:
        import time

        time.sleep(30)
        return pd.DataFrame({"prediction": 0.5}, index=live.index)

    result = _check(_dump(model, tmp_path / "m.pkl"), live_file, limits=Limits(wall_seconds=4.0))
    assert not result.passed
    assert "time limit" in result.message
    assert result.wall_seconds < 10
    assert "fewer" in result.fix


def test_memory_limit(live_file: Path, tmp_path: Path) -> None:
    def model(live: pd.DataFrame) -> pd.DataFrame:
        import numpy as np

        big = np.ones((6 * 1024**3) // 8)
        return pd.DataFrame({"prediction": big[: len(live)] / 2}, index=live.index)

    result = _check(_dump(model, tmp_path / "m.pkl"), live_file)
    assert not result.passed
    assert "MemoryError" in result.message
    assert "4 GB" in result.fix
    assert result.peak_rss_mb < 4096


def test_long_runtime_message_is_cut(tmp_path: Path) -> None:
    """A pickle asking for 500 columns the live data lacks: pandas' KeyError lists them all;
    the failure shows its start and its end (what went wrong), never kilobytes."""
    live = tmp_path / "live.parquet"
    ids = pd.Index([f"n{i:015x}" for i in range(50)], name="id")
    pd.DataFrame({"era": "X", "feature_a": np.int8(1)}, index=ids).to_parquet(live)

    def model(live: pd.DataFrame) -> pd.DataFrame:
        return live[["era", *(f"feature_not_in_v5_{i:04d}" for i in range(500))]]

    result = _check(_dump(model, tmp_path / "m.pkl"), live)
    assert not result.passed and result.stage == "call"
    assert len(result.message) <= MESSAGE_LIMIT
    assert result.message.startswith("KeyError: \"['feature_not_in_v5_0000', ")
    assert "…" in result.message and result.message.endswith('not in index"')
    assert "retrain" in result.fix  # chosen on the whole message
    assert result.log_tail and all(len(line) <= MESSAGE_LIMIT for line in result.log_tail)


def _flipped(built: BuiltUpload) -> bytes:
    """The built pickle with one byte of its LightGBM model text changed (a bad disk, an
    edit): unpickling fails with a UnicodeDecodeError, not an UnpicklingError."""
    data = bytearray(built.path.read_bytes())
    at = data.index(b"Tree=0") + 2
    data[at] ^= 0xFF
    return bytes(data)


@pytest.mark.parametrize("damage", ["empty", "flipped"])
def test_damaged_pickle_is_named_as_such(
    damage: str, built: BuiltUpload, live_file: Path, tmp_path: Path
) -> None:
    """It was reported as the runtime crashing (exit code 1) and blamed on another Python
    minor; what is wrong is the file."""
    path = tmp_path / "m.pkl"
    path.write_bytes(b"" if damage == "empty" else _flipped(built))
    result = _check(path, live_file)
    assert not result.passed and result.stage == "load", result
    error = "EOFError" if damage == "empty" else "UnicodeDecodeError"
    assert result.message.startswith(f"Error reading pickle - {error}: "), result.message
    assert "not a readable pickle" in result.fix and "build-upload" in result.fix
    assert "Python minor" not in result.fix


def test_pickle_of_data_not_a_function(live_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "m.pkl"
    pd.read_parquet(live_file).head(3).to_pickle(path)  # a frame, as pandas pickles it
    result = _check(path, live_file)
    assert not result.passed and result.message.endswith("is not a callable object")
    assert "not a function" in result.fix and "model(live_features)" in result.fix


def test_two_arguments_without_benchmarks_is_the_check_missing_a_file(
    live_file: Path, tmp_path: Path
) -> None:
    """Numerai gives a 2-argument pickle the benchmarks; the fix is --benchmarks, not code."""

    def model(live: pd.DataFrame, benchmarks: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"prediction": 0.5}, index=live.index)

    result = _check(_dump(model, tmp_path / "m.pkl"), live_file)
    assert not result.passed and result.stage == "input"
    assert "--benchmarks" in result.fix and "live_benchmark_models.parquet" in result.fix


def test_a_folder_is_not_a_pickle(live_file: Path, tmp_path: Path) -> None:
    (tmp_path / "m.pkl").mkdir()
    with pytest.raises(DataError, match=r"m\.pkl is a folder; give the pickle file"):
        _check(tmp_path / "m.pkl", live_file)


def _runtimes_of(pickle_path: Path) -> list[int]:
    """Process ids whose command line names ``pickle_path`` (the runtime running it)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            if str(pickle_path).encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
    return found


def _interrupted_check(pickle_path: Path, live: Path) -> None:
    """The check, which a Ctrl-C is to end: its result, if it ends first, fails the test."""
    result = _check(pickle_path, live)
    pytest.fail(f"the check ended before its Ctrl-C: {result}")


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to find the runtime")
def test_ctrl_c_during_the_check_stops_the_runtime(live_file: Path, tmp_path: Path) -> None:
    """The runtime runs in a session of its own, out of reach of the terminal's Ctrl-C:
    check-upload exited 130 and left it running (up to its 10-minute limit)."""

    def model(live: pd.DataFrame) -> pd.DataFrame:
        import time

        time.sleep(60)
        return pd.DataFrame({"prediction": 0.5}, index=live.index)

    path = _dump(model, tmp_path / "slow.pkl")

    def press_ctrl_c() -> None:  # only while the runtime runs: never into another test
        deadline = time.monotonic() + 30
        while not _runtimes_of(path) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _runtimes_of(path):
            _thread.interrupt_main()

    # Python's own Ctrl-C, whatever an earlier test in this process left installed
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        threading.Thread(target=press_ctrl_c, daemon=True).start()
        with pytest.raises(KeyboardInterrupt):
            _interrupted_check(path, live_file)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert _runtimes_of(path) == []


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to find the runtime")
def test_check_upload_killed_leaves_no_runtime_running(live_file: Path, tmp_path: Path) -> None:
    """check-upload killed (SIGKILL, as by the OOM killer or a service manager) left the
    runtime, in a session of its own, running for up to its 10-minute limit."""
    import os
    import subprocess

    from tests.conftest import child_env

    def slow(live: pd.DataFrame) -> pd.DataFrame:  # by value: the replica has no tests
        import time

        time.sleep(60)
        return pd.DataFrame({"prediction": 0.5}, index=live.index)

    path = _dump(slow, tmp_path / "slow.pkl")
    proc = subprocess.Popen(
        [sys.executable, "-m", "numerpilot", "check-upload", str(path), "--live", str(live_file)],
        env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip

    def runtimes() -> list[int]:  # not check-upload itself, which names the pickle too
        return [pid for pid in _runtimes_of(path) if pid != proc.pid]

    deadline = time.monotonic() + 120
    while not runtimes():
        assert proc.poll() is None and time.monotonic() < deadline, "the runtime never ran"
        time.sleep(0.05)
    time.sleep(1)  # the runtime loads the pickle and sleeps in it
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 5
    while runtimes() and time.monotonic() < deadline:
        time.sleep(0.05)
    left = runtimes()
    for pid in left:  # not into the next tests
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    assert left == []


def test_a_check_removes_the_folders_of_killed_checks_only(
    built: BuiltUpload, live_file: Path
) -> None:
    """A check killed by SIGKILL left its numerpilot-check-* folder in the temporary
    folder for good; one that a running check holds stays."""
    import os
    import tempfile

    left, running = (Path(tempfile.mkdtemp(prefix="numerpilot-check-")) for _ in range(2))
    old = time.time() - 3600
    try:
        with folder_held_elsewhere(running):
            for path in (left, running):
                (path / "log.txt").write_text("the runtime's log")
                os.utime(path, (old, old))
            assert _check(built.path, live_file).passed
            assert not left.exists() and running.exists()
    finally:
        shutil.rmtree(running, ignore_errors=True)
