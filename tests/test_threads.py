"""LightGBM's thread count from the physical cores and the load (``num_threads = 0``)."""

from __future__ import annotations

import pytest

from numerpilot import threads
from numerpilot.config import LightGBMConfig
from numerpilot.modeling.lgbm import lgbm_params


@pytest.mark.parametrize(
    ("cores", "cpus", "load", "expected"),
    [
        (2, 2, 0.0, 2),  # an idle machine: every physical core
        (2, 2, 1.0, 2),  # only this process is busy
        (2, 2, 2.5, 1),  # another job keeps a core and a half busy: one thread
        (8, 16, 9.0, 4),  # half the machine is busy elsewhere
        (8, 16, 40.0, 1),  # overloaded: never less than one
        (0, 1, 0.0, 1),
    ],
)
def test_choose_threads(cores: int, cpus: int, load: float, expected: int) -> None:
    assert threads.choose_threads(cores, cpus, load) == expected


def test_auto_threads_stays_within_the_usable_cores() -> None:
    assert 1 <= threads.auto_threads() <= len(threads.usable_cpus())


def test_a_configured_thread_count_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("numerpilot.modeling.lgbm.auto_threads", lambda: 7)
    assert lgbm_params(LightGBMConfig(num_threads=3))["num_threads"] == 3
    assert lgbm_params(LightGBMConfig())["num_threads"] == 7


def test_physical_cores_count_hyperthreads_once(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    for cpu, core in ((0, 0), (1, 0), (2, 1), (3, 1)):  # two cores, two threads each
        topology = tmp_path / f"cpu{cpu}" / "topology"
        topology.mkdir(parents=True)
        (topology / "physical_package_id").write_text("0\n")
        (topology / "core_id").write_text(f"{core}\n")
    monkeypatch.setattr(threads, "_SYS_CPU", tmp_path)
    assert threads.physical_cores({0, 1, 2, 3}) == 2
    assert threads.physical_cores({0, 1}) == 1
    assert threads.physical_cores({9}) == 1  # no topology: count CPUs
