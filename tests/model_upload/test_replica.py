"""The runtime replica: exact pins, no numerpilot, cached; check-upload and upload-model.

These tests share the machine's replica environment, in numerpilot's cache (built from
PyPI on first use, about a minute on a clean machine, then reused by every session).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import cloudpickle
import numpy as np
import pandas as pd
import pytest
from tests.conftest import Numerpilot
from tests.support.catalogue import Refused
from typer.testing import CliRunner

from numerpilot.cli.commands import app
from numerpilot.model_upload import replica
from numerpilot.model_upload.build import BuiltUpload, build_upload
from numerpilot.model_upload.check import run_in_runtime
from numerpilot.model_upload.images import image_for, python_minor
from numerpilot.model_upload.replica import ensure_replica
from numerpilot.sandbox import DEMO_PUBLIC_ID, DEMO_SECRET_KEY, SandboxServer
from numerpilot.sandbox.presets import OPEN_TUESDAY, SMALL_SPEC
from numerpilot.submission.ledger import Ledger

pytestmark = pytest.mark.e2e
IMAGE = image_for(python_minor())


def test_replica_has_exact_pins_and_no_numerpilot(replica_python: Path) -> None:
    code = (
        "import importlib.metadata as m; print(' '.join(m.version(p) for p in "
        "('pandas', 'numpy', 'lightgbm', 'scipy', 'pyarrow', 'cloudpickle')))"
    )
    out = subprocess.run(
        [str(replica_python), "-I", "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    pins = [
        IMAGE.pin(p) for p in ("pandas", "numpy", "lightgbm", "scipy", "pyarrow", "cloudpickle")
    ]
    assert out == pins
    missing = subprocess.run(
        [str(replica_python), "-I", "-c", "import numerpilot"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode != 0
    assert "No module named 'numerpilot'" in missing.stderr


def test_replica_is_cached(replica_python: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_install(cmd: list[str], what: str) -> None:
        raise AssertionError(f"a cached replica must not run {what}")

    monkeypatch.setattr(replica, "_run", no_install)
    assert ensure_replica(IMAGE) == replica_python


def test_pickle_in_replica_equals_predict(
    replica_python: Path, built: BuiltUpload, trained_dir: Path, live_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "pred.csv"
    result = run_in_runtime(replica_python, built.path, live_file, image=IMAGE, keep_output=out)
    assert result.passed, result
    got = pd.read_csv(out, index_col="id")["prediction"]
    want = pd.read_csv(trained_dir / "predictions" / "live_predictions.csv", index_col="id")
    np.testing.assert_allclose(
        got.to_numpy(), want["prediction"].loc[got.index].to_numpy(), rtol=0, atol=1e-9
    )


def test_cli_check_upload_passes(
    replica_python: Path, built: BuiltUpload, trained_dir: Path
) -> None:
    result = CliRunner().invoke(app, ["check-upload", str(built.path), "-C", str(trained_dir)])
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output
    assert "wall time" in result.output
    assert "peak memory" in result.output


def test_cli_two_argument_pickle_gets_benchmarks(
    replica_python: Path, trained_dir: Path, tmp_path: Path
) -> None:
    path = build_upload(trained_dir / "models", tmp_path / "two.pkl", benchmarks=True).path
    result = CliRunner().invoke(app, ["check-upload", str(path), "-C", str(trained_dir)])
    assert result.exit_code == 0, result.output


def test_cli_check_upload_series_fails_like_numerai(
    replica_python: Path, trained_dir: Path, live_file: Path, tmp_path: Path
) -> None:
    def model(live: pd.DataFrame) -> pd.Series:
        return pd.Series(0.5, index=live.index)

    path = tmp_path / "series.pkl"
    path.write_bytes(cloudpickle.dumps(model))
    result = CliRunner().invoke(app, ["check-upload", str(path), "--live", str(live_file)])
    assert result.exit_code == 1
    assert isinstance(result.exception, Exception)
    message = str(result.exception)
    assert (
        "Pickle function is invalid - returned <class 'pandas.core.series.Series'> "
        "instead of pd.DataFrame"
    ) in message
    assert "Fix: Return a pandas DataFrame" in message


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path / "sandbox", spec=SMALL_SPEC, start=OPEN_TUESDAY) as server:
        monkeypatch.setenv("NUMERPILOT_API_URL", server.url)
        monkeypatch.setenv("NUMERAI_PUBLIC_ID", DEMO_PUBLIC_ID)
        monkeypatch.setenv("NUMERAI_SECRET_KEY", DEMO_SECRET_KEY)
        yield server


SANDBOX_TOML = """\
[data]
era_step = 1
[train]
targets = ["target"]
cv_folds = 0
holdout_eras = 8
embargo_eras = 2
[lightgbm]
n_estimators = 20
learning_rate = 0.1
[model]
seeds = [0]
"""


@pytest.fixture
def sandbox_trained(tmp_path: Path, sandbox: SandboxServer) -> Path:
    """A work dir trained on the sandbox's dataset (Numerai's layout, not the demo's)."""
    root = tmp_path / "wd"
    root.mkdir()
    (root / "numerpilot.toml").write_text(SANDBOX_TOML, encoding="utf-8")
    for command in ("download", "train"):
        result = CliRunner().invoke(app, [command, "-C", str(root)])
        assert result.exit_code == 0, result.output
    return root


def test_upload_model_checks_then_uploads(
    replica_python: Path, sandbox_trained: Path, sandbox: SandboxServer
) -> None:
    result = CliRunner().invoke(
        app, ["upload-model", "--model", "sandbox_model", "-C", str(sandbox_trained)]
    )
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output
    assert "Uploaded" in result.output
    (upload,) = sandbox.state.pickles
    model = next(m for m in sandbox.state.models if m.name == "sandbox_model")
    assert upload.model_id == model.id
    assert upload.size == (sandbox_trained / "model.pkl").stat().st_size
    assert upload.docker_image is not None
    # Numerai now runs the pickle: the daemon must skip this model from here on
    assert Ledger(sandbox_trained / "state.db").model_upload("classic", model.id) == upload.id


def test_upload_model_whose_answer_fails_says_sending_again_is_safe(
    replica_python: Path, sandbox_trained: Path, sandbox: SandboxServer, numerpilot: Numerpilot
) -> None:
    """Numerai took the pickle, then a 503 came back: there is no list of a model's pickles
    to ask, and a model runs from its newest one, so the same file again is harmless."""
    sandbox.faults.script("fail_after", "createComputePickleUpload")
    args = ("upload-model", "--model", "sandbox_model", "-C", str(sandbox_trained))
    outcome = numerpilot(*args)
    assert outcome.code == 3 and "Sending it again is safe" in outcome.err, outcome.err
    assert "Check before sending" not in outcome.err  # numerpilot has no way to check
    again = f"'numerpilot upload-model --model sandbox_model -C {sandbox_trained}' again"
    assert again in " ".join(outcome.err.split())  # -C (and --pickle) as given: the same file
    model = next(m for m in sandbox.state.models if m.name == "sandbox_model")
    assert Ledger(sandbox_trained / "state.db").model_upload("classic", model.id) is None
    assert numerpilot(*args).code == 0
    _first, second = sandbox.state.pickles
    assert Ledger(sandbox_trained / "state.db").model_upload("classic", model.id) == second.id


@pytest.mark.bad_input("upload-model", "a pickle of models trained on the demo data")
def test_upload_model_refuses_demo_models(
    trained_dir: Path, sandbox: SandboxServer, numerpilot: Numerpilot, refused: Refused,
    tmp_path: Path,
) -> None:  # fmt: skip
    """It passed the check on the demo's live file and was uploaded: Numerai's live data
    has none of its features."""
    pkl = trained_dir / "model.pkl"
    before = pkl.stat().st_mtime_ns if pkl.exists() else None  # another test may have built it
    outcome = numerpilot("upload-model", "--model", "sandbox_model", "-C", str(trained_dir))
    refused(outcome, 2, "model.pkl holds models trained on the synthetic demo data")
    assert (pkl.stat().st_mtime_ns if pkl.exists() else None) == before  # refused before building
    assert numerpilot("build-upload", "-C", str(trained_dir)).code == 0
    bare = tmp_path / "x.pkl"  # without its sidecar: the demo's live file gives it away
    shutil.copy(trained_dir / "model.pkl", bare)
    outcome = numerpilot("upload-model", "--model", "sandbox_model", "--pickle", str(bare),
                         "-C", str(trained_dir))  # fmt: skip
    assert outcome.code == 2 and "x.pkl holds models trained on the synthetic demo" in outcome.err
    assert sandbox.state.pickles == []


def test_upload_model_needs_the_model_named(
    trained_dir: Path, sandbox: SandboxServer, numerpilot: Numerpilot
) -> None:
    """It took the only configured model: a model switched to pickle mode unasked."""
    outcome = numerpilot("upload-model", "-C", str(trained_dir))
    assert outcome.code == 2 and "Missing option '--model'" in outcome.err
    assert sandbox.state.pickles == []


def test_upload_model_refuses_a_failing_pickle(
    replica_python: Path, sandbox_trained: Path, tmp_path: Path, sandbox: SandboxServer
) -> None:
    def model(a: object, b: object, c: object) -> None:
        return None

    path = tmp_path / "bad.pkl"
    path.write_bytes(cloudpickle.dumps(model))
    result = CliRunner().invoke(
        app,
        [
            "upload-model",
            "--model",
            "sandbox_model",
            "--pickle",
            str(path),
            "-C",
            str(sandbox_trained),
        ],
    )
    assert result.exit_code == 1
    assert "must have 1 or 2 arguments" in str(result.exception)
    assert sandbox.state.pickles == []


def test_cli_check_upload_piped_lines_carry_no_padding(
    replica_python: Path, built: BuiltUpload, trained_dir: Path, numerpilot: Numerpilot
) -> None:
    """As the README promises for every table: piped, no line ends in padding spaces."""
    outcome = numerpilot("check-upload", str(built.path), "-C", str(trained_dir))
    assert outcome.code == 0, outcome.err
    assert "PASS" in outcome.out
    assert [line for line in outcome.out.splitlines() if line != line.rstrip()] == []


def test_cli_check_upload_with_the_replica_built_says_nothing_of_preparing_it(
    replica_python: Path, built: BuiltUpload, trained_dir: Path, numerpilot: Numerpilot
) -> None:
    """'Preparing the runtime replica (first use: ~1 min)' was printed on every check."""
    outcome = numerpilot("check-upload", str(built.path), "-C", str(trained_dir))
    assert outcome.code == 0, outcome.err
    assert "Preparing" not in outcome.out and "Running the pickle" in outcome.out


def _processes_under(folder: Path) -> list[str]:
    """Command lines of the running processes that name ``folder`` (Linux /proc)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(folder) in words:
            found.append(words)
    return found


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="Linux /proc")
def test_a_replica_build_killed_leaves_no_pip_running_and_its_folder_goes_next_time(
    built: BuiltUpload, live_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """check-upload killed (SIGKILL) while it built the replica: pip ran on, installing into
    ``.py3.11.<random>``, a folder of hundreds of MB that no later check removed. (The pip
    install is numerpilot's child and dies with it; venv's ensurepip, a grandchild, runs
    on for its few seconds.)"""
    import os
    import signal
    import sys
    import time

    from tests.conftest import child_env

    cache = tmp_path / "cache"
    proc = subprocess.Popen(
        [sys.executable, "-m", "numerpilot", "check-upload", str(built.path), "--live",
         str(live_file)], env=child_env(NUMERPILOT_CACHE=str(cache)),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    runtime = cache / "runtime"
    deadline = time.monotonic() + 120
    while not any("-m pip install" in words for words in _processes_under(runtime)):
        assert proc.poll() is None and time.monotonic() < deadline, "pip never started"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 2  # pip's install takes longer: it is killed, not done
    while _processes_under(runtime) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _processes_under(runtime)
    (left,) = runtime.glob(f".{IMAGE.key}.*")
    monkeypatch.setenv(replica.ENV_CACHE, str(cache))
    monkeypatch.setattr(replica, "_install", lambda python, image: None)  # no second minute
    ensure_replica(IMAGE)
    assert not left.exists() and [p.name for p in runtime.iterdir()] == [IMAGE.key]


@pytest.mark.bad_input("check-upload", "a runtime replica that lost a package (damaged cache)")
def test_a_damaged_replica_is_named_not_blamed_on_the_pickle(
    built: BuiltUpload, trained_dir: Path, tmp_path: Path, numerpilot: Numerpilot,
    refused: Refused, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A replica whose pandas was removed: "Numerai's runtime would fail: the runtime
    crashed ... a pickle built by another Python minor can crash like this"."""
    import json
    import sys

    venv = tmp_path / "cache" / "runtime" / IMAGE.key  # a real environment, without pandas
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    marker = venv / replica.MARKER
    marker.write_text(json.dumps({"image": IMAGE.key, "requirements": IMAGE.requirements()}))
    monkeypatch.setenv(replica.ENV_CACHE, str(tmp_path / "cache"))
    done = numerpilot("check-upload", str(built.path), "-C", str(trained_dir))
    refused(done, 1, "The check could not run the pickle", f"replica {venv} is damaged",
            "cannot import", "run check-upload again: it rebuilds")  # fmt: skip
    assert not marker.exists()  # so that the next check rebuilds it


@pytest.mark.bad_input("upload-model", "`--model` a Signals model of the account")
def test_upload_model_names_a_model_of_another_tournament(
    trained_dir: Path, sandbox: SandboxServer, numerpilot: Numerpilot, refused: Refused
) -> None:
    """It said "no model named 'sandbox_signals' in your account": it is one, of Signals."""
    outcome = numerpilot("upload-model", "--model", "sandbox_signals", "-C", str(trained_dir))
    refused(outcome, 2, "sandbox_signals is a Signals model: Numerai runs uploaded pickles for "
            "Classic models only")  # fmt: skip
    assert sandbox.state.pickles == []


@pytest.mark.parametrize("command", ["build-upload", "check-upload", "upload-model"])
def test_model_upload_in_a_signals_work_folder_is_refused(
    command: str, tmp_path: Path, sandbox: SandboxServer, numerpilot: Numerpilot
) -> None:
    """build-upload wrote a pickle without tickers from Signals models (its check then sent
    the user to 'numerpilot download', which they had run); upload-model sent a Classic
    pickle for a Signals model."""
    (tmp_path / "numerpilot.toml").write_text('[submission]\ntournament = "signals"\n')
    args = ("--model", "sandbox_signals") if command == "upload-model" else ()
    outcome = numerpilot(command, *args, "-C", str(tmp_path))
    assert outcome.code == 2, outcome.err
    assert outcome.err.startswith("Error: model upload is for Classic models")
    assert 'this work folder is for Signals ([submission] tournament = "signals")' in outcome.err
    assert not (tmp_path / "model.pkl").exists() and sandbox.state.pickles == []
