"""Bad input to score, the model-upload commands and the sandbox server."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.conftest import Numerpilot
from tests.support.catalogue import Outcome, Refused
from tests.support.fs import read_only

from numerpilot.sandbox import SandboxServer

# -- score ------------------------------------------------------------------------------


@pytest.fixture
def score_args(synthetic_dir: Path, tmp_path: Path) -> list[str]:
    val = pd.read_parquet(synthetic_dir / "validation.parquet", columns=["era"])
    preds = tmp_path / "p.csv"
    values = np.random.default_rng(0).random(len(val))
    pd.DataFrame({"id": val.index, "prediction": values}).to_csv(preds, index=False)
    return [str(preds), "--data", str(synthetic_dir / "validation.parquet"), "-C", str(tmp_path)]


def _alone(option: str, needs: str) -> object:
    case = f"`{option}` without `{needs}`"
    return pytest.param(option, needs, marks=pytest.mark.bad_input("score", case))


@pytest.mark.parametrize(
    ("option", "needs"),
    [_alone("--benchmark-col", "--benchmark"), _alone("--meta-model-col", "--meta-model")],
)
def test_column_option_alone(
    numerpilot: Numerpilot, refused: Refused, score_args: list[str], option: str, needs: str
) -> None:
    refused(numerpilot("score", *score_args, option, "c"), 2, f"{needs} FILE")


@pytest.mark.bad_input("score", "`--proportion 2`")
def test_proportion(numerpilot: Numerpilot, refused: Refused, score_args: list[str]) -> None:
    refused(numerpilot("score", *score_args, "--proportion", "2"), 2, "between 0 and 1")


@pytest.mark.bad_input("score", "a predictions file that does not exist")
def test_score_missing_file(
    numerpilot: Numerpilot, refused: Refused, score_args: list[str], tmp_path: Path
) -> None:
    score_args[0] = str(tmp_path / "nope.csv")
    refused(numerpilot("score", *score_args), 1, "PRED:", "nope.csv does not exist")


@pytest.mark.bad_input("score", "a `--data` file that does not exist (no 'download' advice)")
def test_score_missing_data(
    numerpilot: Numerpilot, refused: Refused, score_args: list[str], tmp_path: Path
) -> None:
    at = score_args.index("--data") + 1
    score_args[at] = str(tmp_path / "mine.parquet")
    line = refused(numerpilot("score", *score_args), 1, "--data:", "mine.parquet does not exist")
    assert "download" not in line


@pytest.mark.bad_input("score", "a folder given as `--data`")
def test_score_data_folder(
    numerpilot: Numerpilot, refused: Refused, score_args: list[str], tmp_path: Path
) -> None:
    args = [*score_args]
    (tmp_path / "folder").mkdir()
    args[args.index("--data") + 1] = str(tmp_path / "folder")
    refused(numerpilot("score", *args), 2, "--data:", "is a folder; give a file path")


@pytest.mark.bad_input("score", "a target column `--data` does not have")
def test_score_unknown_target(
    numerpilot: Numerpilot, refused: Refused, score_args: list[str]
) -> None:
    refused(numerpilot("score", *score_args, "--target", "target_nope"), 1, "target_nope")


@pytest.mark.bad_input("score", "predictions without a numeric column")
def test_score_text_predictions(
    numerpilot: Numerpilot, refused: Refused, score_args: list[str]
) -> None:
    path = Path(score_args[0])
    frame = pd.read_csv(path)
    frame["prediction"] = "high"
    frame.to_csv(path, index=False)
    refused(numerpilot("score", *score_args), 1, "no numeric prediction column")


@pytest.mark.bad_input("score", "`--json` into a folder that is not writable")
def test_score_json_read_only(
    numerpilot: Numerpilot,
    refused: Refused,
    score_args: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    read_only(monkeypatch, tmp_path / "ro")
    refused(numerpilot("score", *score_args, "--json", str(tmp_path / "ro" / "s.json")), 1,
            "Permission denied")  # fmt: skip


@pytest.mark.bad_input("score", "a `--data` file whose ids repeat")
def test_score_data_with_repeated_ids(
    numerpilot: Numerpilot, refused: Refused, score_args: list[str], tmp_path: Path
) -> None:
    at = score_args.index("--data") + 1
    data = pd.read_parquet(score_args[at], columns=["era", "target"])
    repeated = pd.concat([data, data.iloc[:5]])  # an era's rows scored twice
    repeated.to_parquet(tmp_path / "v.parquet")
    score_args[at] = str(tmp_path / "v.parquet")
    refused(numerpilot("score", *score_args), 1, "v.parquet has 5 ids that repeat within an "
            f"era (e.g. {data.index[0]})", "keep one row per id")  # fmt: skip


@pytest.mark.bad_input("score", "a `--meta-model` file with several model columns")
def test_score_meta_model_of_several_columns(
    numerpilot: Numerpilot, refused: Refused, score_args: list[str], synthetic_dir: Path
) -> None:
    bench = synthetic_dir / "validation_benchmark_models.parquet"
    refused(numerpilot("score", *score_args, "--meta-model", str(bench)), 2,
            "cannot tell which column is the meta model", "--meta-model-col COL",
            "model columns: v52_lgbm_")  # fmt: skip


@pytest.mark.bad_input("score", "`--target` naming a text column (`--target data_type`)")
def test_score_text_target(numerpilot: Numerpilot, refused: Refused, score_args: list[str]) -> None:
    line = refused(numerpilot("score", *score_args, "--target", "data_type"), 1,
                   "column 'data_type' is not numeric", "--target COL (e.g. target")  # fmt: skip
    assert "download" not in line.lower()


# -- model upload -----------------------------------------------------------------------


@pytest.mark.bad_input("build-upload", "no trained models")
def test_build_upload_without_models(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    refused(numerpilot("build-upload", "-C", str(fresh)), 1, "no trained models")
    assert not (fresh / "model.pkl").exists()


@pytest.mark.bad_input("check-upload", "a pickle that does not exist")
def test_check_upload_missing_pickle(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    refused(numerpilot("check-upload", str(fresh / "m.pkl"), "-C", str(fresh)), 1,
            "does not exist", "build-upload")  # fmt: skip


@pytest.mark.bad_input("check-upload", "a folder as the pickle")
def test_check_upload_folder(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    """It ran the runtime on it, which crashed (blamed on another Python minor)."""
    (fresh / "m.pkl").mkdir()
    refused(numerpilot("check-upload", str(fresh / "m.pkl"), "-C", str(fresh)), 1,
            "m.pkl is a folder; give the pickle file")  # fmt: skip


@pytest.mark.bad_input("check-upload", "`--image` that is no runtime image (`--image 3.9`)")
def test_check_upload_unknown_image(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    (fresh / "m.pkl").write_bytes(b"never read")
    refused(numerpilot("check-upload", str(fresh / "m.pkl"), "--image", "3.9", "-C", str(fresh)),
            2, "--image 3.9: not one of", "3.11, 3.12, 3.13")  # fmt: skip


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache for runtime replicas (``NUMERPILOT_CACHE``), not created yet."""
    monkeypatch.setenv("NUMERPILOT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _check_as_312(numerpilot: Numerpilot, root: Path) -> Outcome:
    """check-upload of a pickle in ``root`` (never built: refused before it is read)."""
    (root / "m.pkl").write_bytes(b"not built here")
    return numerpilot("check-upload", str(root / "m.pkl"), "--image", "3.12", "-C", str(root))


@pytest.mark.bad_input("check-upload", "`--image 3.12` whose local Python cannot make a venv")
def test_check_upload_broken_python(
    numerpilot: Numerpilot,
    refused: Refused,
    fresh: Path,
    cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A local Python that fails is this machine's matter (exit 1), not the network's."""
    fake = fresh / "bin" / "python3.12"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'pyenv: python3.12: command not found' >&2\nexit 127\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    line = refused(_check_as_312(numerpilot, fresh), 1, "could not create", "--image 3.11")
    assert "network" not in line
    assert list((cache / "runtime").iterdir()) == []  # no half-built replica


@pytest.mark.bad_input("check-upload", "a pickle built for Python 3.11 checked as `--image 3.12`")
def test_check_upload_other_python(
    numerpilot: Numerpilot, refused: Refused, fresh: Path, cache: Path
) -> None:
    """Refused from the pickle's sidecar, before a 3.12 replica is built (minutes, PyPI)."""
    (fresh / "m.pkl.json").write_text('{"python": "3.11"}')
    refused(_check_as_312(numerpilot, fresh), 1, "incompatible with 3.12")
    assert not cache.exists()


# -- sandbox serve ----------------------------------------------------------------------


@pytest.mark.bad_input("sandbox serve", "a port that is already in use")
def test_busy_port(numerpilot: Numerpilot, refused: Refused, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        outcome = numerpilot("sandbox", "serve", "--port", str(port), "--data", str(tmp_path / "s"))
    refused(outcome, 1, f"port {port} on 127.0.0.1 is already in use", "--port 0")
    assert not (tmp_path / "s").exists()  # refused before the dataset was prepared


@pytest.mark.bad_input("sandbox serve", "a clock start that is not a date (`--start yesterday`)")
def test_bad_start(numerpilot: Numerpilot, refused: Refused, tmp_path: Path) -> None:
    outcome = numerpilot("sandbox", "serve", "--start", "yesterday", "--data", str(tmp_path / "s"))
    refused(outcome, 2, "yesterday")


@pytest.mark.bad_input(
    "sandbox serve", "a clock start before its first round (`--start 2021-06-01`)"
)
def test_start_before_the_first_round(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path
) -> None:
    outcome = numerpilot("sandbox", "serve", "--start", "2021-06-01", "--data", str(tmp_path / "s"))
    refused(outcome, 2, "before the sandbox's first round (600, open 2024-01-02 12:00 UTC)")
    assert not (tmp_path / "s").exists()


@pytest.mark.bad_input("sandbox serve", "a share above 1 (`--error-rate 2`)")
def test_bad_rate(numerpilot: Numerpilot, refused: Refused, tmp_path: Path) -> None:
    outcome = numerpilot("sandbox", "serve", "--error-rate", "2", "--data", str(tmp_path / "s"))
    refused(outcome, 2, "--error-rate must be within 0 and 1", "not 2")


@pytest.mark.timeout(60)  # before: it served forever
@pytest.mark.parametrize(
    ("args", "says"),
    [
        pytest.param(["--speed", "nan"], "--speed nan is not a number it can use",
                     marks=pytest.mark.bad_input("sandbox serve", "a speed that is not a "
                                                 "number (`--speed nan`, `inf`)")),
        pytest.param(["--latency", "inf"], "--latency inf is not a number it can use",
                     marks=pytest.mark.bad_input("sandbox serve", "a latency that is not a "
                                                 "number (`--latency inf`)")),
        pytest.param(["--round-seconds", "0"], "--round-seconds must be above 0",
                     marks=pytest.mark.bad_input("sandbox serve", "a round of no length "
                                                 "(`--round-seconds 0`: it served 60 s rounds)")),
        pytest.param(["--window-seconds", "80"],
                     "--window-seconds 80 is longer than a round (60 s without --round-seconds)",
                     marks=pytest.mark.bad_input("sandbox serve", "a staking window longer "
                                                 "than the round (`--window-seconds 80`)")),
    ],
)  # fmt: skip
def test_serve_refuses_numbers_it_cannot_run_with(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, args: list[str], says: str
) -> None:
    outcome = numerpilot("sandbox", "serve", "--port", "0", "--data", str(tmp_path / "s"), *args)
    refused(outcome, 2, f"sandbox serve: {says}")
    assert not (tmp_path / "s").exists()  # refused before the dataset was prepared


@pytest.mark.bad_input("sandbox serve", "a port above 65535 (`--port 70000`)")
def test_serve_refuses_a_port_out_of_range(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path
) -> None:
    """It was a traceback (OverflowError from bind)."""
    outcome = numerpilot("sandbox", "serve", "--port", "70000", "--data", str(tmp_path / "s"))
    refused(outcome, 2, "'--port'", "less than or equal to 65535")


@pytest.mark.bad_input("sandbox serve", "a file as its data folder (`--data FILE`)")
def test_serve_refuses_a_file_as_its_data_folder(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path
) -> None:
    (tmp_path / "f").write_text("x")
    outcome = numerpilot("sandbox", "serve", "--port", "0", "--data", str(tmp_path / "f"))
    refused(outcome, 2, f"--data {tmp_path / 'f'} is a file; give a folder")


def test_sandbox_lists_its_model_names(sandbox: SandboxServer) -> None:
    names = sandbox.model_names()
    assert names["classic"] == ["sandbox_model", "sandbox_model_2"]
    assert set(names) == {"classic", "signals", "crypto"}


def _half_sent_upload(url: str) -> socket.socket:
    """A connection that announced an upload and sent three bytes of it (a slow client)."""
    host, port = url.removeprefix("http://").rstrip("/").rsplit(":", 1)
    held = socket.create_connection((host, int(port)))
    held.sendall(b"PUT /upload/x HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc")
    return held


@pytest.mark.parametrize(
    ("stop", "code", "says"), [("SIGINT", 130, "Interrupted."), ("SIGTERM", 0, "")]
)
def test_serve_banner_names_the_models_and_a_signal_stops_it(
    tmp_path: Path, stop: str, code: int, says: str
) -> None:
    """A real ``sandbox serve`` process: its banner, then Ctrl-C (exit 130, one line) or
    SIGTERM (a service stopped: exit 0, nothing said), promptly even while a client is
    still sending an upload (it waited 10 s for it)."""
    import re
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import child_env

    child = subprocess.Popen(
        [sys.executable, "-c", "import signal, sys; signal.signal(signal.SIGINT, "
         "signal.default_int_handler); sys.argv[0] = 'numerpilot'; "
         "from numerpilot.cli import main; main()",
         "sandbox", "serve", "--small", "--port", "0", "--data", str(tmp_path / "sb")],
        env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        banner = ""
        assert child.stdout is not None
        while "submit with --model" not in banner:
            line = child.stdout.readline()
            assert line, f"serve ended early: {child.communicate()}"
            banner += line
        url = re.search(r"NUMERPILOT_API_URL=(\S+)", banner)
        assert url is not None
        with _half_sent_upload(url.group(1)):
            child.send_signal(getattr(signal, stop))
            began = time.monotonic()
            _, err = child.communicate(timeout=60)
            took = time.monotonic() - began
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert "classic: sandbox_model, sandbox_model_2" in banner
    assert "[submission] models" in banner
    assert child.returncode == code and err.strip() == says
    assert took < 4, f"took {took:.1f} s to stop"


_SERVE_IN_PROCESS = """
import signal, sys, threading
from pathlib import Path
from numerpilot.sandbox import SandboxServer
from numerpilot.sandbox.presets import SMALL_SPEC
signal.signal(signal.SIGINT, signal.default_int_handler)
server = SandboxServer(Path(sys.argv[1]), spec=SMALL_SPEC)
try:
    server.serve_forever(lambda url: print(url, flush=True))
    how = "returned"
except KeyboardInterrupt:
    how = "interrupted"
alive = [t.name for t in threading.enumerate() if t.name == "numerpilot-sandbox"]
print(how, "still serving:", alive, flush=True)
"""


@pytest.mark.parametrize(("stop", "how"), [("SIGINT", "interrupted"), ("SIGTERM", "returned")])
def test_serve_forever_has_stopped_serving_when_it_ends(
    tmp_path: Path, stop: str, how: str
) -> None:
    """Ctrl-C landed in the wait for the server's thread, which Python 3.11 then took for
    ended: ``serve_forever`` raised at once with the server still running (and the process
    exited under it). Both signals end it only once the server has stopped."""
    import signal
    import subprocess
    import sys

    from tests.conftest import child_env

    child = subprocess.Popen(
        [sys.executable, "-c", _SERVE_IN_PROCESS, str(tmp_path / "sb")],
        env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        assert url.startswith("http://"), child.communicate()
        with _half_sent_upload(url):
            child.send_signal(getattr(signal, stop))
            out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert out.strip() == f"{how} still serving: []", (out, err)
    assert err == ""


@pytest.mark.parametrize(("argv", "code"), [(["--help"], 0), (["-h"], 0), (["--verbose"], 2),
                                            ([], 2), (["a", "b"], 2)])  # fmt: skip
def test_the_sandbox_demo_takes_one_folder_and_no_option(
    argv: list[str], code: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """``--help`` was taken for the work directory: the whole demo ran in a folder named so."""
    from numerpilot.sandbox.demo import main

    monkeypatch.chdir(tmp_path)
    assert main(argv) == code
    said = capsys.readouterr()
    usage = "usage: python -m numerpilot.sandbox.demo WORKDIR"
    assert usage in (said.out if code == 0 else said.err)
    assert list(tmp_path.iterdir()) == []  # nothing was written
