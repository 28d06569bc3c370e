"""How many threads LightGBM gets when ``[lightgbm] num_threads`` is 0 (the default).

LightGBM's own default, one thread per logical CPU, collapses when the CPU is shared: its
threads wait for each other at every split, so one busy core slows all of them (the demo
took 3-6 minutes instead of 23 s beside other jobs, and 17 s on one thread). numerpilot
takes the physical cores it may use (CPU affinity and a cgroup CPU quota included) and
leaves out as many as other programs keep busy (the 1-minute load average, less this
process itself). Set ``num_threads`` to a number to choose yourself.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

_SYS_CPU = Path("/sys/devices/system/cpu")
_CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def choose_threads(usable_cores: int, logical_cpus: int, load: float) -> int:
    """Threads for ``usable_cores`` when the machine's ``logical_cpus`` carry ``load``.

    The load of others is the load average less 1 (this process, busy loading data); the
    share of the machine it keeps busy is taken off the usable cores. Always at least 1.
    """
    usable = max(1, usable_cores)
    others = max(0.0, load - 1.0)
    idle_share = min(1.0, max(0.0, 1.0 - others / max(1, logical_cpus)))
    return max(1, min(usable, math.floor(usable * idle_share + 0.5)))


def physical_cores(cpus: set[int]) -> int:
    """Distinct physical cores among ``cpus`` (Linux topology; else the CPU count)."""
    cores = set()
    for cpu in cpus:
        topology = _SYS_CPU / f"cpu{cpu}" / "topology"
        try:
            package = (topology / "physical_package_id").read_text().strip()
            core = (topology / "core_id").read_text().strip()
        except OSError:
            return len(cpus)
        cores.add((package, core))
    return len(cores) or len(cpus)


def cgroup_cpu_limit() -> float | None:
    """CPUs a cgroup v2 quota allows (``cpu.max``), or None without a quota."""
    try:
        quota, period = _CGROUP_CPU_MAX.read_text().split()[:2]
        return int(quota) / int(period) if quota != "max" else None
    except (OSError, ValueError):
        return None


def usable_cpus() -> set[int]:
    """The CPUs this process may run on."""
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return set(range(os.cpu_count() or 1))


def auto_threads() -> int:
    """LightGBM threads for this machine now (see the module's description)."""
    cpus = usable_cpus()
    cores = physical_cores(cpus)
    limit = cgroup_cpu_limit()
    if limit is not None:
        cores = min(cores, max(1, math.floor(limit)))
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = 0.0
    return choose_threads(cores, os.cpu_count() or len(cpus), load)
