"""``check-upload``: run a model pickle as Numerai's runtime would, under its limits.

The pickle runs in a separate process of the replica environment's Python (exact image
pins, no numerpilot), through :mod:`numerpilot.model_upload.runner`, with 1 CPU (affinity and
``OMP_NUM_THREADS=1``), 4 GB of address space (``RLIMIT_AS``), a CPU-time limit and a
10-minute wall clock. Its output is then checked by Numerai's submission rules. Every
failure carries the message Numerai's runtime would log (cut to :data:`MESSAGE_LIMIT`
characters: an exception can quote thousands of ids) plus what to do about it. The live
and benchmark files are checked before any of that (:func:`check_inputs`), so a wrong file
is named as such instead of failing inside the runtime as if the pickle had.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from numerpilot.data import layout
from numerpilot.errors import DataError, LocalError, SubmissionError
from numerpilot.io import compression, deferred_interrupt
from numerpilot.lock import folder_held
from numerpilot.model_upload.build import read_sidecar
from numerpilot.model_upload.images import RuntimeImage, image_for, python_minor
from numerpilot.model_upload.replica import MARKER, die_with_parent
from numerpilot.submission.rules.classic import check_predictions

log = logging.getLogger(__name__)

RUNNER = Path(__file__).with_name("runner.py")

#: The most characters of a runtime message (and of each log line) that a failure shows.
MESSAGE_LIMIT = 300


@dataclass(frozen=True)
class Limits:
    """Numerai's runtime limits: 1 CPU, 4 GB of memory, 10 minutes."""

    memory_bytes: int = 4 * 1024**3
    wall_seconds: float = 600.0
    cpus: int = 1


@dataclass
class CheckResult:
    """Outcome of one replica run: pass/fail, the runtime's message, the fix, the costs."""

    passed: bool
    image: str
    wall_seconds: float
    peak_rss_mb: float
    message: str = ""
    fix: str = ""
    stage: str = ""
    rows: int = 0
    log_tail: list[str] = field(default_factory=list)


_FIXES = (
    ("Pickle incompatible with", "Rebuild the pickle with Python {py} ('numerpilot build-upload' "
     "under Python {py}), or upload it for the image of the Python it was built with."),
    ("No module named 'numerpilot'", "The pickle imports numerpilot, which Numerai's runtime "
     "does not have. Build it with 'numerpilot build-upload', which serialises everything "
     "it needs by value."),
    ("Import error reading pickle", "The pickle needs a package the {image} image does not "
     "have; serialise that code by value (cloudpickle.register_pickle_by_value) or drop it."),
    ("Invalid pickle - ", "The file is not a readable pickle (truncated or not a pickle); rebuild "
     "it with 'numerpilot build-upload'."),
    ("Error reading pickle - ", "The file is not a readable pickle (empty, damaged or not a "
     "pickle); rebuild it with 'numerpilot build-upload'."),
    ("is not a callable object", "The pickle holds data, not a function: Numerai calls "
     "model(live_features). Pickle the predict function ('numerpilot build-upload' builds one)."),
    ("no live benchmark models file", "Give Numerai's live_benchmark_models.parquet of the live "
     "file's round with --benchmarks: Numerai passes it to 2-argument pickles."),
    ("must have 1 or 2 arguments", "Numerai calls model(live_features) or model(live_features, "
     "live_benchmark_models): define the function with exactly 1 or 2 parameters."),
    ("instead of pd.DataFrame", "Return a pandas DataFrame indexed by the live ids, e.g. "
     "predictions.to_frame('prediction') for a Series."),
    ("returned None", "Return a pandas DataFrame indexed by the live ids (add the missing "
     "'return')."),
    ("take whole numbers 0..4", "Check with Numerai's live.parquet of the models' data version "
     "as it is (--live; 'numerpilot download' fetches it): Numerai runs the pickle on that "
     "version's live data, whose features are whole numbers 0..4."),
    ("live features are not numbers", "Check with Numerai's live.parquet as it is (--live): its "
     "features are whole numbers 0..4."),
    ("of the model's", "The live data does not have the model's features: retrain on the "
     "dataset version Numerai serves now ('numerpilot download', 'numerpilot train') and "
     "rebuild."),
    ("not in index", "The live data does not have the model's features: retrain on the dataset "
     "version Numerai serves now ('numerpilot download', 'numerpilot train') and rebuild."),
    ("NaN prediction", "Every live row needs a prediction: fill or rank the predictions so no "
     "NaN is left."),
    ("between 0 and 1", "Scale the predictions into [0, 1], e.g. with .rank(pct=True)."),
    ("predictions, expected", "Return exactly one prediction per row of the frame you were given."),
    ("time limit", "Use fewer or shallower trees (or fewer features) so the pickle fits 1 CPU and "
     "10 minutes with margin; see 'numerpilot' README, model upload."),
    ("the runtime crashed", "If the pickle was built by another Python minor, rebuild it with "
     "Python {py}; otherwise run it locally to find the native crash."),
    ("MemoryError", "Use fewer features or predict in batches so the pickle fits in 4 GB."),
    ("out of memory", "Use fewer features or predict in batches so the pickle fits in 4 GB."),
)  # fmt: skip


def fix_for(message: str, image: RuntimeImage) -> str:
    """What to do about a runtime message (first matching rule)."""
    for needle, fix in _FIXES:
        if needle in message:
            return fix.format(py=image.python, image=image.key)
    return "Run the pickle locally with the failing input and fix the error above."


def shorten(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, its start and its end kept around a "…" (an
    exception's text can list thousands of ids; its end often says what went wrong)."""
    if len(text) <= limit:
        return text
    tail = limit // 4
    return f"{text[: limit - tail - 1]}…{text[-tail:]}"


#: What to give instead, per input file of the runtime.
_GIVE = {
    "live": f"give Numerai's {layout.LIVE} of a round (--live; 'numerpilot download' fetches it)",
    "benchmarks": f"give Numerai's {layout.LIVE_BENCHMARKS} of the same round as the live file "
    "(--benchmarks)",
}


def _input_ids(path: Path, what: str, columns: tuple[str, ...] = ()) -> pd.Index:
    """The ids of the runtime's ``what`` file ('live' or 'benchmarks'), which must be a
    parquet file with rows, indexed by 'id' as Numerai's are, with ``columns``; else a
    DataError naming the file and what is wrong."""
    name, give = f"the {what} file {path}", _GIVE[what]
    if not path.exists():
        raise DataError(f"{name} does not exist; {give}.")
    if path.is_dir():
        raise DataError(f"{name} is a folder, not a parquet file; {give}.")
    try:
        with pq.ParquetFile(path) as pf:
            rows, names = pf.metadata.num_rows, pf.schema_arrow.names
    except Exception as error:  # pyarrow raises many unrelated types for a non-parquet file
        kind = compression(path) or ("CSV" if path.suffix.lower() == ".csv" else None)
        reason = f"it is {kind}" if kind else shorten(" ".join(str(error).split()), 120)
        raise DataError(f"{name} is not a readable parquet file ({reason}); {give}.") from None
    if rows == 0:
        raise DataError(f"{name} has no rows; {give}.")
    ids = pd.read_parquet(path, columns=[]).index
    if ids.has_duplicates:
        raise DataError(f"{name} has ids that repeat (e.g. {ids[ids.duplicated()][0]}); {give}.")
    if ids.name != layout.ID:
        column = " (only a column of that name)" if layout.ID in names else ""
        if str(ids.name).strip().lower() == layout.ID:  # 'ID': names are case-sensitive
            column = f" (an index named '{ids.name}': rename it to '{layout.ID}')"
        raise DataError(f"{name} has no '{layout.ID}' index{column}, which Numerai's files have "
                        f"(frame.set_index('{layout.ID}').to_parquet(...)); {give}.")  # fmt: skip
    for column in columns:
        if column not in names:
            raise DataError(f"{name} has no '{column}' column, which Numerai's runtime needs; "
                            f"{give}.")  # fmt: skip
    return ids


def check_inputs(live: Path, benchmarks: Path | None = None) -> None:
    """Refuse (DataError, one line naming the file) a live or benchmark file that Numerai's
    runtime would fail on before calling the pickle: not parquet, no rows, no 'id' index, a
    live file without 'era' (or rows without one), benchmarks without a row for every live
    id."""
    live_ids = _input_ids(Path(live), "live", (layout.ERA,))
    no_era = int(pd.read_parquet(live, columns=[layout.ERA])[layout.ERA].isna().sum())
    if no_era:  # the runtime's ranks per era would leave those rows out, or fail outright
        raise DataError(f"the live file {live} has {no_era} of its {len(live_ids)} rows without "
                        f"an era (missing values in '{layout.ERA}'); {_GIVE['live']}.")  # fmt: skip
    if benchmarks is None:
        return
    bench_ids = _input_ids(Path(benchmarks), "benchmarks")
    covered = int(live_ids.isin(bench_ids).sum())
    if covered < len(live_ids):
        raise DataError(f"the benchmarks file {benchmarks} covers {covered} of the "
                        f"{len(live_ids)} ids of the live file {live}; "
                        f"{_GIVE['benchmarks']}.")  # fmt: skip


def _limit(limits: Limits) -> None:  # pragma: no cover - runs in the child before exec
    die_with_parent()  # in a session of its own, it would run on after a kill -9
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    cpu = int(limits.wall_seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    if hasattr(os, "sched_setaffinity"):  # Linux; elsewhere OMP_NUM_THREADS=1 only
        allowed = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, set(allowed[: limits.cpus]))


def _child_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    for var in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMEXPR_MAX_THREADS",
    ):
        env[var] = "1"
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _wait(proc: subprocess.Popen[bytes], deadline: float) -> tuple[int, float, bool]:
    """Reap ``proc`` with its own rusage: (exit code, peak RSS in MB, timed out)."""
    timed_out = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline and not timed_out:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
        time.sleep(0.02)
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    return code, usage.ru_maxrss / 1024, timed_out


@contextlib.contextmanager
def _killed_unless_reaped(proc: subprocess.Popen[bytes]) -> Iterator[None]:
    """Kill the runtime's process group when the wait for it ends early (Ctrl-C, SIGTERM):
    in a session of its own, it gets no Ctrl-C from the terminal and would run on, for up
    to 10 minutes, after check-upload has exited."""
    try:
        yield
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(proc.pid, 0)
            proc.returncode = -signal.SIGKILL


def _crash_message(code: int, timed_out: bool, limits: Limits) -> tuple[str, str]:
    if timed_out:
        return "time", f"the pickle ran past the {limits.wall_seconds:.0f}-second time limit"
    if code == -signal.SIGXCPU:
        return "time", "the pickle used up its CPU time limit"
    if code in (-signal.SIGKILL, -signal.SIGABRT):
        return "memory", (
            f"the pickle was killed ({signal.Signals(-code).name}), most likely "
            "out of memory in a native library"
        )
    name = signal.Signals(-code).name if code < 0 else f"exit code {code}"
    return "crash", (f"the runtime crashed ({name}); a pickle built by another Python minor "
                     "can crash like this")  # fmt: skip


def _sidecar_mismatch(pickle_path: Path, image: RuntimeImage) -> str | None:
    info = read_sidecar(pickle_path)
    built = str(info.get("python")) if info else None
    if built and built != image.python:
        return f"built with Python {built} ({pickle_path.name}.json)"
    return None


def built_for_another(pickle_path: Path, image: RuntimeImage) -> CheckResult | None:
    """The failed check of a pickle whose sidecar names another Python minor than
    ``image``'s (it cannot load there), known before any replica is built; else None."""
    mismatch = _sidecar_mismatch(pickle_path, image)
    if mismatch is None:
        return None
    message = f"Pickle incompatible with {image.python}"
    return CheckResult(False, image.key, 0.0, 0.0, message, fix_for(message, image), "load",
                       log_tail=[mismatch])  # fmt: skip


def default_image(pickle_path: Path) -> RuntimeImage:
    """The image named in the pickle's sidecar, else this Python's image."""
    info = read_sidecar(pickle_path) or {}
    return image_for(str(info.get("python") or python_minor()))


def refuse_missing_pickle(pickle_path: Path) -> None:
    """A DataError when ``pickle_path`` is not there or is not a file (a folder, a device)."""
    build = "build it with 'numerpilot build-upload'"
    if not pickle_path.exists():
        raise DataError(f"the pickle {pickle_path} does not exist; {build}.")
    if pickle_path.is_dir():
        raise DataError(f"the pickle {pickle_path} is a folder; give the pickle file "
                        "(model.pkl, as 'numerpilot build-upload' writes it).")  # fmt: skip
    if not pickle_path.is_file():
        raise DataError(f"the pickle {pickle_path} is not a regular file; {build}.")


def run_in_runtime(
    python: Path,
    pickle_path: Path,
    live: Path,
    *,
    image: RuntimeImage,
    benchmarks: Path | None = None,
    limits: Limits = Limits(),
    keep_output: Path | None = None,
) -> CheckResult:
    """Run the pickle with ``python`` (a replica's) under ``limits``; check its output.

    ``keep_output``: where to copy the predictions CSV the runtime wrote (when it wrote one).
    """
    refuse_missing_pickle(Path(pickle_path))
    check_inputs(live, benchmarks)
    mismatch = built_for_another(pickle_path, image)
    if mismatch is not None:
        return mismatch
    _remove_killed_checks()
    with (
        tempfile.TemporaryDirectory(prefix=_CHECK_PREFIX) as tmp_name,
        folder_held(Path(tmp_name), wait=0, busy="checking a pickle"),  # not a killed one's
    ):
        tmp = Path(tmp_name)
        runner = tmp / "runner.py"
        runner.write_text(RUNNER.read_text(encoding="utf-8"), encoding="utf-8")
        output, result_path = tmp / "predictions.csv", tmp / "result.json"
        cmd = [str(python), "-I", str(runner), "--model", str(Path(pickle_path).resolve()),
               "--dataset", str(Path(live).resolve()), "--output", str(output),
               "--result", str(result_path)]  # fmt: skip
        if benchmarks is not None:
            cmd += ["--benchmarks", str(Path(benchmarks).resolve())]
        logs = tmp / "log.txt"
        started = time.monotonic()
        with logs.open("wb") as sink, contextlib.ExitStack() as reaping:
            with deferred_interrupt():  # a Ctrl-C while it starts: killed once it has a pid
                proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, cwd=tmp,
                                        env=_child_env(), start_new_session=True,
                                        preexec_fn=lambda: _limit(limits))  # fmt: skip
                reaping.enter_context(_killed_unless_reaped(proc))
            code, peak_mb, timed_out = _wait(proc, started + limits.wall_seconds)
        wall = time.monotonic() - started
        lines = logs.read_text(encoding="utf-8", errors="replace").splitlines()
        tail = [shorten(line) for line in lines[-20:]]
        if not result_path.exists():
            stage, message = _crash_message(code, timed_out, limits)
            return CheckResult(False, image.key, wall, peak_mb, message,
                               fix_for(message, image), stage, log_tail=tail)  # fmt: skip
        outcome = json.loads(result_path.read_text(encoding="utf-8"))
        if not outcome["ok"] and outcome["stage"] == "replica":
            return _damaged_replica(python, image, str(outcome["error"]), wall, peak_mb)
        if not outcome["ok"]:
            message = " ".join(str(outcome["error"]).split())
            stage = str(outcome["stage"])
            detail = [shorten(line) for line in str(outcome.get("detail") or "").splitlines()]
            fix = fix_for(message, image)  # on the whole message: its end may be the clue
            return CheckResult(False, image.key, wall, peak_mb, shorten(message), fix, stage,
                               log_tail=(detail or tail)[-12:])  # fmt: skip
        if keep_output is not None:
            shutil.copyfile(output, keep_output)
        return _check_output(output, live, image, wall, peak_mb, tail)


_CHECK_PREFIX = "numerpilot-check-"
#: A check's temporary folder younger than this may not be held yet: never removed.
_CHECK_GRACE_S = 60.0


def _remove_killed_checks() -> None:
    """Remove the temporary folders that checks killed by SIGKILL left (the runtime's log
    and predictions): those that no check holds (:func:`folder_held`) any more."""
    for path in Path(tempfile.gettempdir()).glob(f"{_CHECK_PREFIX}*"):
        try:
            if not path.is_dir() or path.is_symlink() or _age(path) < _CHECK_GRACE_S:
                continue
            with folder_held(path, wait=0, busy="checking a pickle") as held:
                if held:
                    shutil.rmtree(path, ignore_errors=True)
        except (LocalError, OSError):  # held by a running check, or not ours to remove
            continue


def _age(path: Path) -> float:
    return time.time() - path.stat().st_mtime


def _damaged_replica(
    python: Path, image: RuntimeImage, error: str, wall: float, peak_mb: float
) -> CheckResult:
    """The replica could not import a package of its image (its files removed or cut
    short): no verdict on the pickle. Its marker goes, so the next check rebuilds it."""
    venv = Path(python).parent.parent
    (venv / MARKER).unlink(missing_ok=True)
    message = f"the {image.key} runtime replica {venv} is damaged: {shorten(error)}"
    fix = (f"run check-upload again: it rebuilds the {image.key} replica (about a minute, "
           "from PyPI).")  # fmt: skip
    return CheckResult(False, image.key, wall, peak_mb, message, fix, "replica")


#: The columns Numerai reads from what a model-upload pickle returns (besides the id).
PREDICTION_COLUMNS = ("prediction", "probability")


def header_problem(columns: list[str]) -> str:
    """Why Numerai's rules refuse a runtime output with these columns (the id, then one of
    'prediction', 'probability', as numerai-tools checks), or ''."""
    if len(columns) == 2 and columns[1] in PREDICTION_COLUMNS:
        return ""
    return (f"the pickle returns the columns {', '.join(columns[1:]) or 'none'}; Numerai's "
            "rules take exactly one, named 'prediction'")  # fmt: skip


def _check_output(
    output: Path, live: Path, image: RuntimeImage, wall: float, peak_mb: float, tail: list[str]
) -> CheckResult:
    """Numerai's submission rules on what the runtime would upload."""
    frame = pd.read_csv(output)
    ids = frame.iloc[:, 0].astype(str).to_numpy()
    live_ids = pd.read_parquet(live, columns=[]).index.astype(str).to_numpy()
    problem = shorten(header_problem(list(map(str, frame.columns))))
    if problem:
        fix = "Return pd.DataFrame({'prediction': values}, index=live.index) and nothing else."
        return CheckResult(False, image.key, wall, peak_mb, problem, fix, "rules", len(frame),
                           tail)  # fmt: skip
    try:
        check_predictions(ids, frame.iloc[:, 1].to_numpy(dtype="float64"), live_ids)
    except SubmissionError as error:
        message = shorten(str(error))
        fix = ("Return one prediction in [0, 1] for every live id (index = the live frame's "
               "index), not all equal.")  # fmt: skip
        return CheckResult(False, image.key, wall, peak_mb, message, fix, "rules", len(frame),
                           tail)  # fmt: skip
    return CheckResult(True, image.key, wall, peak_mb, "", "", "", len(frame), tail)
