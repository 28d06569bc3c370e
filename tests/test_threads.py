"""LightGBM's thread count from the physical cores and the load (``num_threads = 0``)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from numerpilot import threads
from numerpilot.config import LightGBMConfig
from numerpilot.modeling.lgbm import lgbm_params


@pytest.mark.parametrize(
    ("cores", "cpus", "others", "expected"),
    [
        (2, 2, 0.0, 2),  # an idle machine: every physical core
        (2, 2, 0.4, 2),  # a little work elsewhere
        (2, 2, 1.0, 1),  # another job keeps a core busy: one thread
        (8, 16, 8.0, 4),  # half the machine is busy elsewhere
        (8, 16, 39.0, 1),  # overloaded: never less than one
        (0, 1, 0.0, 1),
    ],
)
def test_choose_threads(cores: int, cpus: int, others: float, expected: int) -> None:
    assert threads.choose_threads(cores, cpus, others) == expected


def test_busy_elsewhere_leaves_out_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """2 CPUs at 100 ticks a second for 0.5 s: 100 ticks in all, 80 of them busy, 30 of
    those this process's own (0.3 s): 1.0 CPU busy elsewhere."""
    ticks: Iterator[tuple[int, int]] = iter([(1000, 5000), (1080, 5100)])
    own: Iterator[float] = iter([2.0, 2.3])
    clock: Iterator[float] = iter([10.0, 10.5])
    monkeypatch.setattr(threads, "_busy_ticks", lambda: next(ticks))
    monkeypatch.setattr(threads, "_own_seconds", lambda: next(own))
    monkeypatch.setattr("numerpilot.threads.time.monotonic", lambda: next(clock))
    monkeypatch.setattr("numerpilot.threads.time.sleep", lambda seconds: None)
    assert threads.busy_elsewhere(2) == pytest.approx(1.0)


def test_busy_elsewhere_without_proc_stat_is_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(threads, "_PROC_STAT", tmp_path / "missing")
    assert threads.busy_elsewhere(2, window=0.01) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/stat")
def test_another_program_spinning_counts_as_busy_elsewhere() -> None:
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        elsewhere = threads.busy_elsewhere(os.cpu_count() or 1, window=0.5)
        assert elsewhere is not None and elsewhere >= 0.5
    finally:
        spinner.kill()
        spinner.wait()


def test_auto_threads_stays_within_the_usable_cores() -> None:
    assert 1 <= threads.auto_threads() <= len(threads.usable_cpus())


def test_a_configured_thread_count_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("numerpilot.modeling.lgbm.auto_threads", lambda: 7)
    assert lgbm_params(LightGBMConfig(num_threads=3))["num_threads"] == 3
    assert lgbm_params(LightGBMConfig())["num_threads"] == 7


def test_physical_cores_count_hyperthreads_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for cpu, core in ((0, 0), (1, 0), (2, 1), (3, 1)):  # two cores, two threads each
        topology = tmp_path / f"cpu{cpu}" / "topology"
        topology.mkdir(parents=True)
        (topology / "physical_package_id").write_text("0\n")
        (topology / "core_id").write_text(f"{core}\n")
    monkeypatch.setattr(threads, "_SYS_CPU", tmp_path)
    assert threads.physical_cores({0, 1, 2, 3}) == 2
    assert threads.physical_cores({0, 1}) == 1
    assert threads.physical_cores({9}) == 1  # no topology: count CPUs
