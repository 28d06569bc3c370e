"""Ctrl-C (and SIGTERM) where Python or Dask would hide or garble it: in a finalizer, while a
LocalCluster starts, in the daemon's JSON log; and demo-data cut short."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tests.badinput.conftest import interrupted
from tests.conftest import Numerpilot, child_env
from tests.pipeline.conftest import FAST_CONFIG, TWO_WORKERS, make_workdir
from tests.support.catalogue import Outcome

from numerpilot.data.synthetic_io import check_finished
from numerpilot.sandbox import DEMO_PUBLIC_ID, DEMO_SECRET_KEY

#: ``python -c CHILD READY WHERE ARGS...``: numerpilot ARGS, held at WHERE (``finalizer``:
#: in an object's ``__del__`` while ``--version`` prints; ``module:Class.method``: at that
#: method, in whatever thread calls it) until the test, having sent its signal, deletes READY.
CHILD = """
import importlib, signal, sys, time
from pathlib import Path

ready, where, *args = sys.argv[1:]
signal.signal(signal.SIGINT, signal.default_int_handler)


def wait():
    Path(ready).write_text("ready")
    while Path(ready).exists():
        time.sleep(0.01)


if where == "finalizer":
    class Held:
        def __del__(self):  # Python cannot raise here: 'Exception ignored in ...'
            wait()

    from numerpilot.cli import app
    real = app.console.print
    def printing(*a, **k):
        Held()  # dropped at once: its __del__ runs now
        return real(*a, **k)
    app.console.print = printing
else:
    module, _, attribute = where.partition(":")
    owner, name = attribute.split(".")
    cls = getattr(importlib.import_module(module), owner)
    method = getattr(cls, name)
    async def held(*a, **k):  # blocks the event loop's thread, as a slow start would
        wait()
        return await method(*a, **k)
    setattr(cls, name, held)
sys.argv = ["numerpilot", *args]
from numerpilot.cli import main
main()
"""


def signalled(signum: int, where: str, *args: str, tmp_path: Path) -> tuple[Outcome, float]:
    """Run numerpilot held at ``where``, send ``signum`` there; its outcome and the seconds
    it took to exit after the signal."""
    ready = tmp_path / "ready"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(ready), where, *args],
        env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        while not ready.exists():
            if child.poll() is not None:
                pytest.fail(f"exited {child.returncode} before {where}: {child.communicate()}")
            time.sleep(0.02)
        child.send_signal(signum)
        sent = time.monotonic()
        ready.unlink()
        out, err = child.communicate(timeout=120)
        took = time.monotonic() - sent
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return Outcome(child.returncode, out, err), took


def test_ctrl_c_in_a_finalizer_still_interrupts(tmp_path: Path) -> None:
    """Python only reports a KeyboardInterrupt raised in a finalizer or GC callback ('Exception
    ignored in') and goes on: the command finished with exit code 0, as if not interrupted."""
    outcome, _ = signalled(signal.SIGINT, "finalizer", "--version", tmp_path=tmp_path)
    assert outcome.code == 130, outcome.err
    assert outcome.err.strip() == "Interrupted."  # no 'Exception ignored', no traceback


@pytest.mark.parametrize(
    "where",
    [
        "distributed.nanny:Nanny.start_unsafe",  # before any worker process
        "distributed.scheduler:Scheduler.add_worker",  # a worker process is up
    ],
)
def test_ctrl_c_while_the_local_cluster_starts(
    where: str, tmp_path: Path, synthetic_dir: Path
) -> None:
    """Dask closed the half-started cluster at exit: about 10 s, and some 30 lines of its
    tracebacks after 'Interrupted.'."""
    wd = make_workdir(tmp_path / "wd", synthetic_dir, FAST_CONFIG + TWO_WORKERS)
    train = ("train", "--cluster", "local", "-C", str(wd))
    outcome, took = signalled(signal.SIGINT, where, *train, tmp_path=tmp_path)
    assert outcome.code == 130 and outcome.err == f"Interrupted. {NO_NEW_MODELS}\n", outcome.err
    assert took < 5
    assert not (wd / "models").exists()


def test_sigterm_while_the_local_cluster_starts(tmp_path: Path, synthetic_dir: Path) -> None:
    """SIGTERM killed the process at once: its workers' semaphores were left, and Python's
    resource tracker warned of 'leaked semaphore objects'."""
    wd = make_workdir(tmp_path / "wd", synthetic_dir, FAST_CONFIG + TWO_WORKERS)
    where = "distributed.scheduler:Scheduler.add_worker"
    train = ("train", "--cluster", "local", "-C", str(wd))
    outcome, took = signalled(signal.SIGTERM, where, *train, tmp_path=tmp_path)
    assert outcome.code == 128 + signal.SIGTERM and outcome.err == "", outcome.err
    assert took < 5


@pytest.fixture
def daemon_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A work directory the daemon starts in, its run replaced by Ctrl-C pressed ``presses``
    times (set by the test)."""
    from numerpilot.automation.daemon import Daemon

    monkeypatch.setenv("NUMERAI_PUBLIC_ID", DEMO_PUBLIC_ID)
    monkeypatch.setenv("NUMERAI_SECRET_KEY", DEMO_SECRET_KEY)
    (tmp_path / "numerpilot.toml").write_text('[submission]\nmodels = ["m"]\n')

    def pressed(self: Daemon, once: bool = False) -> Any:
        for _ in range(int(os.environ["PRESSES"])):
            os.kill(os.getpid(), signal.SIGINT)  # the handler runs before the next line
        return None

    monkeypatch.setattr(Daemon, "run", pressed)
    return tmp_path


@pytest.mark.parametrize("presses", [1, 2])  # after the current step; at once
def test_daemon_log_json_says_interrupted_as_json(
    presses: int, daemon_dir: Path, numerpilot: Numerpilot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRESSES", str(presses))
    outcome = numerpilot("daemon", "--log-json", "-C", str(daemon_dir))
    assert outcome.code == 130, outcome.err
    lines = [json.loads(line) for line in outcome.err.splitlines()]  # every line is JSON
    assert lines[-1]["message"] == "Interrupted." and lines[-1]["event"] == "interrupted"
    plain = numerpilot("daemon", "-C", str(daemon_dir))
    assert plain.code == 130 and plain.err.splitlines()[-1] == "Interrupted."


#: What a Ctrl-C while training (or retraining) says.
NO_NEW_MODELS = "No new models were put in use; the ones in use before (if any) are kept."


def test_ctrl_c_while_training_says_the_models_in_use_are_kept(
    numerpilot: Numerpilot, tmp_path: Path, synthetic_dir: Path
) -> None:
    """It said 'Interrupted.' alone: whether the models in use had changed was a guess."""
    wd = make_workdir(tmp_path / "wd", synthetic_dir, FAST_CONFIG)
    first = "numerpilot.pipeline.members:fit_member@2"
    for models in ("none yet", "in use"):
        before = _manifest(wd)
        outcome = interrupted(first, "train", "-C", str(wd), tmp_path=tmp_path)
        assert outcome.code == 130 and outcome.err == f"Interrupted. {NO_NEW_MODELS}\n", models
        assert _manifest(wd) == before
        assert numerpilot("train", "-C", str(wd)).code == 0  # the next run works


def _manifest(wd: Path) -> bytes | None:
    path = wd / "models" / "manifest.json"
    return path.read_bytes() if path.exists() else None


def test_ctrl_c_while_cv_writes_its_report_says_the_new_one_is_whole(
    tmp_path: Path, synthetic_dir: Path
) -> None:
    """Ctrl-C between the two report files: the pair is finished first, and said so."""
    wd = make_workdir(tmp_path / "wd", synthetic_dir, FAST_CONFIG)
    outcome = interrupted("os:replace~cv.json", "cv", "-C", str(wd), tmp_path=tmp_path)
    assert outcome.code == 130 and outcome.err == "Interrupted. The new report is whole.\n"
    assert json.loads((wd / "reports" / "cv.json").read_text())["folds"]
    assert (wd / "reports" / "cv.html").read_text().rstrip().endswith("</html>")


SMALL = ("--train-eras", "12", "--validation-eras", "4", "--rows-per-era", "50")


def _features(data: Path) -> int:
    """How many features the dataset in ``data`` has, by its marker and by its files."""
    marker = json.loads((data / ".synthetic.json").read_text())["n_features"]
    train = pd.read_parquet(data / "train.parquet")
    assert sum(c.startswith("feature_") for c in train.columns) == marker
    return int(marker)


@pytest.mark.parametrize(
    ("where", "features", "says"),
    [  # writing: the previous one stays; moving the files into place: finished first
        ("numerpilot.data.synthetic_io:atomic_path@2", 24, "is as it was"),
        ("os:replace~train.parquet", 30, "The new dataset in"),
    ],
)
def test_ctrl_c_in_demo_data_leaves_one_whole_dataset(
    where: str, features: int, says: str, numerpilot: Numerpilot, tmp_path: Path
) -> None:
    """The marker went first, each file was replaced as it was written: a rewrite cut
    after its first file left a mix of two datasets, refused until written again. The
    line says which dataset is there."""
    data = tmp_path / "mine"
    assert numerpilot("demo-data", str(data), *SMALL, "--features", "24").code == 0
    outcome = interrupted(  # a wider one over it
        where, "demo-data", str(data), *SMALL, "--features", "30", tmp_path=tmp_path
    )
    assert outcome.code == 130 and outcome.err.count("\n") == 1, outcome.err
    assert outcome.err.startswith("Interrupted. ") and says in outcome.err, outcome.err
    assert _features(data) == features
    check_finished(data)
    assert sorted(p.name for p in data.glob(".*")) == [".synthetic.json"]  # no twin left


@pytest.mark.parametrize("log_json", [True, False])
def test_daemon_ctrl_c_while_loading_the_config_says_interrupted(
    log_json: bool, daemon_dir: Path, numerpilot: Numerpilot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ctrl-C before the daemon existed was re-raised: --log-json printed a plain
    'Interrupted.', not a JSON line."""
    from numerpilot.config import Config
    from numerpilot.workdir import Workdir

    loading = Workdir.load_config

    def pressed(self: Workdir) -> Config:
        os.kill(os.getpid(), signal.SIGINT)  # the handler runs before the next line
        return loading(self)

    monkeypatch.setattr(Workdir, "load_config", pressed)
    outcome = numerpilot("daemon", *(["--log-json"] * log_json), "-C", str(daemon_dir))
    assert outcome.code == 130, outcome.err
    if log_json:
        (line,) = [json.loads(line) for line in outcome.err.splitlines()]
        assert line["message"] == "Interrupted." and line["event"] == "interrupted"
    else:
        assert outcome.err == "Interrupted.\n"


def test_daemon_log_json_says_an_os_error_while_starting_as_json(
    daemon_dir: Path, numerpilot: Numerpilot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An OSError (not a NumerpilotError) while starting printed a plain 'Error: ...'."""
    import errno

    from numerpilot.workdir import Workdir

    def refused(self: Workdir) -> None:  # a file that root, who runs these tests, could read
        raise PermissionError(errno.EACCES, "Permission denied", str(self.config_path))

    monkeypatch.setattr(Workdir, "load_config", refused)
    outcome = numerpilot("daemon", "--log-json", "-C", str(daemon_dir))
    assert outcome.code == 1, outcome.err
    lines = [json.loads(line) for line in outcome.err.splitlines()]  # every line is JSON
    assert lines[-1]["event"] == "error" and "Permission denied" in lines[-1]["message"]


@pytest.mark.parametrize("log_json", [True, False])
def test_ctrl_c_while_python_imports_says_interrupted_as_the_command_would(
    log_json: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """daemon --log-json pressed in its first 0.2 s (imports running) printed a plain
    'Interrupted.', which a log parser reading JSON lines cannot read."""
    import importlib.abc
    import sys

    from numerpilot.cli import main

    class Pressed(importlib.abc.MetaPathFinder):
        def find_spec(self, name: str, *args: object) -> None:
            if name == "numerpilot.cli.commands":
                raise KeyboardInterrupt

    monkeypatch.delitem(sys.modules, "numerpilot.cli.commands", raising=False)
    monkeypatch.setattr(sys, "meta_path", [Pressed(), *sys.meta_path])
    monkeypatch.setattr(sys, "argv", ["numerpilot", "daemon", *(["--log-json"] * log_json)])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code == 130
    err = capsys.readouterr().err
    if log_json:
        line = json.loads(err)
        assert line["message"] == "Interrupted." and line["event"] == "interrupted"
    else:
        assert err == "Interrupted.\n"
