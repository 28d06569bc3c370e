"""Peak memory of ``train``, predicted before any feature byte is loaded.

A job that does not fit is refused up front, with the estimate and what to change, instead
of being killed by the kernel hours later. The estimate is linear in rows x features (the
int8 matrix and LightGBM's binned copy, ~1 byte a value each), plus LightGBM's float64
bin-construction sample, the float32 targets and the per-row labels; its coefficients were
measured by ``benchmarks/bench_scale.py``. ``era_step = "auto"`` takes every era when that
fits and otherwise the smallest step that does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from numerpilot.errors import DataError
from numerpilot.modeling.lgbm import BIN_SAMPLE_ROWS

GIB = 1024**3
#: Bytes per row x feature: the int8 matrix (1) and LightGBM's binned Dataset (4-bit bins
#: for Numerai's 5-valued features). bench_scale.py measured 1.03 at 20k-80k rows x 2,748
#: features; 1.3 leaves a margin.
BYTES_PER_VALUE = 1.3
#: Bytes per row besides the features: id and era labels, row numbers, float32 targets (per
#: target, counted apart), predictions and gradients.
BYTES_PER_ROW = 220
#: Python, numpy, pyarrow and LightGBM themselves.
BASE_BYTES = 400 * 1024**2
#: The linear members' matrices, alive at once: X'X, a fold's, the eigenvectors and the
#: feature products test's sums, about ten features x features float64 (tracemalloc: 9.6
#: at 600 and 1,200 features, 10.0 at 2,748) ...
LINEAR_MATRICES = 10
#: ... and their float64 batches of rows.
LINEAR_BATCH_BYTES = 32 * 1024**2
#: Eras at most skipped between two that are kept (``era_step``) before train refuses.
MAX_ERA_STEP = 8
#: Share of the available memory train plans to use.
HEADROOM = 0.85


def estimate_train_bytes(rows: int, features: int, targets: int) -> int:
    """Predicted peak resident memory (bytes) of ``train`` on rows x features int8 values."""
    # LightGBM's sample rows arrive as float64 and are copied once more while binning; the
    # linear members are fitted once that sample is freed: whichever is larger counts.
    sample = min(rows, BIN_SAMPLE_ROWS) * features * 16
    linear = LINEAR_MATRICES * 8 * features**2 + LINEAR_BATCH_BYTES
    per_row = BYTES_PER_ROW + 4 * targets
    return int(
        BASE_BYTES + rows * features * BYTES_PER_VALUE + max(sample, linear) + rows * per_row
    )


def _cgroup_bytes() -> int | None:
    """Memory the cgroup (container) still allows, if it sets a limit."""
    limit = Path("/sys/fs/cgroup/memory.max")
    used = Path("/sys/fs/cgroup/memory.current")
    try:
        raw = limit.read_text().strip()
        if raw == "max":
            return None
        return max(0, int(raw) - int(used.read_text().strip()))
    except (OSError, ValueError):
        return None


def available_bytes() -> int:
    """Memory this process can use now: MemAvailable, capped by a cgroup limit."""
    found: int | None = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found = int(line.split()[1]) * 1024
    except OSError:
        pass
    if found is None:  # not Linux: all physical memory is the best guess
        found = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    cgroup = _cgroup_bytes()
    return min(found, cgroup) if cgroup is not None else found


@dataclass(frozen=True)
class MemoryPlan:
    """The era step train uses, the rows it loads and the predicted peak (bytes)."""

    era_step: int
    rows: int
    estimate: int
    budget: int


def every_nth_era(step: int) -> str:
    """'every era', 'every 2nd era', ... for messages."""
    if step == 1:
        return "every era"
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(step % 10 if step % 100 not in (11, 12, 13) else 0)
    return f"every {step}{suffix or 'th'} era"


def _rows_for_step(era_sizes: np.ndarray, step: int) -> int:
    return int(era_sizes[::step].sum())


def plan_memory(
    era_sizes: np.ndarray, features: int, targets: int, era_step: int | None, budget: int,
    *, stated: bool = False,
) -> MemoryPlan:  # fmt: skip
    """Choose the era step (``era_step`` None: the smallest that fits ``budget``) or check
    the configured one; refuse, with the estimate and what to change, a job that cannot fit.

    era_sizes: (E,) rows of each training era, in era order; ``stated``: the budget is
    ``train.memory_gb`` (else the memory this machine has available).
    """
    steps = [era_step] if era_step else list(range(1, MAX_ERA_STEP + 1))
    for step in steps:
        rows = _rows_for_step(era_sizes, step)
        need = estimate_train_bytes(rows, features, targets)
        if need <= budget:
            return MemoryPlan(step, rows, need, budget)
    step = steps[-1]
    rows = _rows_for_step(era_sizes, step)
    need = estimate_train_bytes(rows, features, targets)
    fix = _fix(era_sizes, features, targets, budget, configured=era_step is not None,
               stated=stated)  # fmt: skip
    limit = f"train.memory_gb allows {gib(budget)}" if stated else f"{gib(budget)} is available"
    raise DataError(
        f"train would need about {gib(need)} ({rows:,} rows x {features:,} features, "
        f"era_step {step}) but {limit}; {fix}"
    )


def beyond_available(plan: MemoryPlan, available: int) -> str | None:
    """A warning when ``plan``'s predicted peak fits a stated ``train.memory_gb`` but not
    the ``available`` bytes (the budget is the user's word, and stays the plan's)."""
    if plan.estimate <= available:
        return None
    return (
        f"train would need about {gib(plan.estimate)}, within train.memory_gb "
        f"({gib(plan.budget)}), but only {gib(available)} is available now: the run may be "
        'killed out of memory. Lower train.memory_gb (with data.era_step = "auto" it then '
        "trains on fewer eras), or free memory."
    )


def gib(n: int) -> str:
    """``n`` bytes in GiB, to two digits below 10 GiB."""
    return f"{n / GIB:.1f} GiB" if n >= 10 * GIB else f"{n / GIB:.2f} GiB"


def _fix(
    era_sizes: np.ndarray, features: int, targets: int, budget: int, configured: bool,
    stated: bool,
) -> str:  # fmt: skip
    """What to change so that the job fits (``stated``: the budget is train.memory_gb,
    which only the user can raise; else free memory)."""
    fits = [
        s
        for s in range(1, MAX_ERA_STEP + 1)
        if estimate_train_bytes(_rows_for_step(era_sizes, s), features, targets) <= budget
    ]
    rows = int(era_sizes.sum())
    room = budget - estimate_train_bytes(rows, 0, targets)
    per_feature = rows * BYTES_PER_VALUE + min(rows, BIN_SAMPLE_ROWS) * 16
    most = int(room / per_feature) if room > 0 else 0
    if configured and fits:
        return f'set data.era_step = {fits[0]} (or "auto"), or choose a smaller data.feature_set.'
    more = ("raise train.memory_gb" if stated
            else "free memory, or raise train.memory_gb if more is really available")  # fmt: skip
    if most < 1:
        return f"{more}."
    also = f" or set data.era_step = {fits[0]}" if fits else ""
    return (
        f"choose a smaller data.feature_set (about {most:,} features fit with every era)"
        f"{also}, {'or ' if stated else ''}{more}."
    )
