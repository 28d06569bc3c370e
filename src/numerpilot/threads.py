"""How many threads LightGBM gets when ``[lightgbm] num_threads`` is 0 (the default).

LightGBM's own default, one thread per logical CPU, collapses when the CPU is shared: its
threads wait for each other at every split, so one busy core slows all of them (the demo
took 3-6 minutes instead of 23 s beside other jobs, and 17 s on one thread). numerpilot
takes the physical cores it may use (CPU affinity and a cgroup CPU quota included) and
leaves out as many as other programs keep busy. Set ``num_threads`` to a number to choose
yourself.

What other programs use is measured: the CPU time the machine spends outside this
process over half a second (``/proc/stat`` less this process's own). The 1-minute load
average, the fallback where /proc is missing, lags by a minute and cannot tell this
process's own threads from others': a fit on two threads just before (the quality
benchmark's example recipe) made the next training run on one thread of two.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

_SYS_CPU = Path("/sys/devices/system/cpu")
_CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")
_PROC_STAT = Path("/proc/stat")
#: Seconds over which the CPU time of other programs is measured.
WINDOW = 0.5


def choose_threads(usable_cores: int, logical_cpus: int, others: float) -> int:
    """Threads for ``usable_cores`` when other programs keep ``others`` of the machine's
    ``logical_cpus`` busy: their share of the machine is taken off the usable cores.
    Always at least 1."""
    usable = max(1, usable_cores)
    others = max(0.0, others)
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


def _busy_ticks() -> tuple[int, int]:
    """(busy, all) clock ticks of every CPU since boot, from /proc/stat's first line."""
    user, nice, system, idle, iowait, irq, softirq, steal = (
        int(v) for v in _PROC_STAT.read_text().split("\n", 1)[0].split()[1:9]
    )
    busy = user + nice + system + irq + softirq + steal
    return busy, busy + idle + iowait


def _own_seconds() -> float:
    """CPU seconds this process (all its threads) has used."""
    t = os.times()
    return t.user + t.system


def busy_elsewhere(logical_cpus: int, window: float = WINDOW) -> float | None:
    """CPUs that programs other than this one kept busy over the next ``window`` seconds,
    or None where /proc/stat cannot be read (not Linux)."""
    try:
        busy0, all0 = _busy_ticks()
        own0, start = _own_seconds(), time.monotonic()
        time.sleep(window)
        busy1, all1 = _busy_ticks()
        own1, elapsed = _own_seconds(), time.monotonic() - start
    except (OSError, ValueError):
        return None
    ticks = (all1 - all0) / (logical_cpus * elapsed)  # clock ticks per CPU-second
    if ticks <= 0:
        return None
    return max(0.0, (busy1 - busy0) / ticks - (own1 - own0)) / elapsed


def auto_threads() -> int:
    """LightGBM threads for this machine now (see the module's description)."""
    cpus = usable_cpus()
    cores = physical_cores(cpus)
    limit = cgroup_cpu_limit()
    if limit is not None:
        cores = min(cores, max(1, math.floor(limit)))
    logical = os.cpu_count() or len(cpus)
    others = busy_elsewhere(logical)
    if others is None:
        try:
            others = os.getloadavg()[0] - 1.0  # this process counted as one busy thread
        except (AttributeError, OSError):
            others = 0.0
    return choose_threads(cores, logical, others)
