"""Peak memory and time of ``train`` at three sizes, and the projection to Numerai's data.

Each size (rows x 2,748 int8 features, like v5's "all" set) is trained by
``numerpilot.pipeline.train.train_ensemble`` in a fresh subprocess, so its peak resident
memory (VmHWM) is its own. A straight line through the three peaks projects the peak of
full v5.3 train (~2.7M rows x 2,748 features); the same line is compared with the
estimate ``train`` makes before loading (``numerpilot.modeling.memory``), which must not
be below what was measured. At these sizes the time is mostly LightGBM's bin construction
(a fixed 20,000-row sample of 2,748 features), so it is reported, not projected.

    python benchmarks/bench_scale.py            # 20k, 40k, 80k rows (~2-3 min on 2 cores)
    python benchmarks/bench_scale.py --quick    # 5k, 10k, 20k rows
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CACHE = Path(tempfile.gettempdir()) / "numerpilot-bench-scale"
FEATURES = 2_748
ERAS = 50
FULL_ROWS = 2_700_000
TREES = 20
CONFIG = """\
[data]
dir = "{data}"
version = "v1"
feature_set = "all"

[train]
targets = ["target"]
holdout_eras = 10
embargo_eras = 2
early_stopping_rounds = 0

[lightgbm]
n_estimators = {trees}
learning_rate = 0.05
"""


def write_dataset(rows: int, folder: Path) -> None:
    """train.parquet and features.json: int8 features 0..4, a weak linear target."""
    if (folder / "train.parquet").exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(rows)
    eras = np.repeat([f"{e + 1:04d}" for e in range(ERAS)], rows // ERAS)
    x = rng.integers(0, 5, size=(len(eras), FEATURES), dtype=np.int8)
    signal = (x[:, :50].astype(np.float32) - 2) @ rng.normal(size=50).astype(np.float32)
    y = signal / signal.std() * 0.1 + rng.normal(size=len(eras)).astype(np.float32)
    target = np.digitize(y, np.quantile(y, [0.05, 0.25, 0.75, 0.95])) / 4
    names = [f"feature_{j:04d}" for j in range(FEATURES)]
    columns = {"era": pa.array(eras), **{n: pa.array(x[:, j]) for j, n in enumerate(names)}}
    columns["target"] = pa.array(target.astype(np.float32))
    pq.write_table(pa.table(columns), folder / "train.parquet", row_group_size=20_000)
    meta = {"feature_sets": {"all": names}, "targets": ["target"]}
    (folder / "features.json").write_text(json.dumps(meta))


def _peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(folder: Path, work: Path) -> None:
    from numerpilot.pipeline.context import Context
    from numerpilot.pipeline.train import train_ensemble
    from numerpilot.workdir import Workdir

    work.mkdir(parents=True, exist_ok=True)
    (work / "numerpilot.toml").write_text(CONFIG.format(data=folder.parent, trees=TREES))
    start = time.perf_counter()
    manifest = train_ensemble(Context.load(Workdir(work)))
    seconds = time.perf_counter() - start
    trees = manifest.best_iterations["target"]
    print(json.dumps({"seconds": seconds, "trees": trees, "peak_mib": _peak_mib()}))


def measure(rows: int) -> dict[str, float]:
    folder = CACHE / f"rows{rows}" / "v1"
    write_dataset(rows, folder)
    with tempfile.TemporaryDirectory() as work:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(folder), work],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    return {"rows": rows, **json.loads(out.stdout.strip().splitlines()[-1])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    from numerpilot.modeling.memory import estimate_train_bytes

    sizes = (5_000, 10_000, 20_000) if args.quick else (20_000, 40_000, 80_000)
    results = [measure(rows) for rows in sizes]
    print(f"| rows x {FEATURES:,} features | peak MiB | train's estimate MiB | seconds |")
    print("|---:|---:|---:|---:|")
    for r in results:
        est = estimate_train_bytes(int(r["rows"]), FEATURES, 1) / 1024**2
        print(f"| {r['rows']:,} | {r['peak_mib']:,.0f} | {est:,.0f} | {r['seconds']:.1f} |")
    rows = np.array([r["rows"] for r in results], dtype=float)
    peak = np.array([r["peak_mib"] for r in results])
    slope, intercept = np.polyfit(rows, peak, 1)
    full_peak = (intercept + slope * FULL_ROWS) / 1024
    full_est = estimate_train_bytes(FULL_ROWS, FEATURES, 1) / 1024**3
    print(f"peak = {intercept:,.0f} MiB + {slope * 1024**2 / FEATURES:.2f} bytes x rows x features")
    print(f"projected for {FULL_ROWS:,} rows x {FEATURES:,} features: peak {full_peak:.1f} GiB "
          f"(train's estimate {full_est:.1f} GiB)")  # fmt: skip
    low = [
        r["rows"]
        for r in results
        if estimate_train_bytes(int(r["rows"]), FEATURES, 1) < r["peak_mib"] * 1024**2
    ]
    if low:
        print(f"the estimate is below the measured peak at {low} rows")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
