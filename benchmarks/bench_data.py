"""Load + train memory and time: numerpilot's int8 path against the usual pandas path.

The reference is what Numerai's example scripts do: ``pd.read_parquet`` of the feature
columns, era sampling on the frame, ``lgb.Dataset(frame[features], frame[target])``
(LightGBM converts the frame to one float32 matrix before binning). numerpilot reads only
the sampled eras into one int8 matrix and feeds LightGBM row batches (``lightgbm.Sequence``).
Each case runs in a fresh subprocess so its peak resident memory is its own; both train
with the same number of LightGBM threads (chosen once, before either runs). The cases take
turns ``--repeat`` times; the fastest run of each counts (other load on the machine only
ever adds time), with the largest peak memory.

    python benchmarks/bench_data.py            # 300 eras x 2,000 rows x 800 features
    python benchmarks/bench_data.py --quick    # seconds
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lightgbm as lgb
import pandas as pd

from numerpilot.config import LightGBMConfig
from numerpilot.data.load import load_era_data
from numerpilot.data.synthetic import SyntheticSpec
from numerpilot.data.synthetic_io import is_current, write_synthetic
from numerpilot.modeling.lgbm import lgbm_params, train_target
from numerpilot.threads import auto_threads

CACHE = Path(tempfile.gettempdir()) / "numerpilot-bench-data"
ERA_STEP = 4


def _peak_mib() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, reset by exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_numerpilot(train: Path, features: list[str], cfg: LightGBMConfig) -> dict[str, float]:
    start = time.perf_counter()
    data = load_era_data(train, features, ["target"], era_step=ERA_STEP)
    loaded = time.perf_counter()
    train_target(
        data.features, data.target("target"), data.eras, target="target",
        feature_names=features, cfg=cfg, split=None,
    )  # fmt: skip
    return {"load_s": loaded - start, "train_s": time.perf_counter() - loaded}


def run_pandas(train: Path, features: list[str], cfg: LightGBMConfig) -> dict[str, float]:
    start = time.perf_counter()
    frame = pd.read_parquet(train, columns=["era", *features, "target"])
    frame = frame[frame["era"].isin(frame["era"].unique()[::ERA_STEP])]
    loaded = time.perf_counter()
    dataset = lgb.Dataset(frame[features], frame["target"], params=lgbm_params(cfg))
    lgb.train(lgbm_params(cfg), dataset, num_boost_round=cfg.n_estimators)
    return {"load_s": loaded - start, "train_s": time.perf_counter() - loaded}


def child(case: str, folder: Path, rounds: int, threads: int) -> None:
    if case == "imports":
        print(json.dumps({"load_s": 0.0, "train_s": 0.0, "peak_mib": _peak_mib()}))
        return
    features = json.loads((folder / "features.json").read_text())["feature_sets"]["all"]
    cfg = LightGBMConfig(
        n_estimators=rounds, learning_rate=0.05, colsample_bytree=0.1, num_threads=threads
    )
    runner = run_numerpilot if case == "numerpilot" else run_pandas
    result = runner(folder / "train.parquet", features, cfg)
    print(json.dumps({**result, "peak_mib": _peak_mib()}))


def measure(case: str, folder: Path, rounds: int, threads: int) -> dict[str, float]:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        case,
        "--folder",
        str(folder),
        "--rounds",
        str(rounds),
        "--threads",
        str(threads),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def best(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run with the shortest load + train, with the largest peak of all runs."""
    fastest = min(runs, key=lambda r: r["load_s"] + r["train_s"])
    return {**fastest, "peak_mib": max(r["peak_mib"] for r in runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, seconds")
    parser.add_argument("--rounds", type=int, default=50, help="boosting rounds")
    parser.add_argument(
        "--child", choices=["numerpilot", "pandas", "imports"], help=argparse.SUPPRESS
    )
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=0, help="LightGBM threads (0: auto)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each case; best counts")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.folder, args.rounds, args.threads)
        return
    eras, rows, n_features = (60, 500, 200) if args.quick else (300, 2000, 800)
    spec = SyntheticSpec(
        train_eras=eras, validation_eras=4, rows_per_era=rows, n_features=n_features,
        live_rows=10, seed=0, target_names=("cyrusd",),
    )  # fmt: skip
    folder = CACHE / f"{eras}x{rows}x{n_features}"
    if not is_current(spec, folder):
        print(f"generating {eras} eras x {rows} rows x {n_features} features in {folder} ...")
        write_synthetic(spec, folder)
    sampled = eras // ERA_STEP * rows
    int8_mib = sampled * n_features / 2**20
    print(f"train: {eras} eras x ~{rows} rows x {n_features} int8 features; every "
          f"{ERA_STEP}th era -> ~{sampled:,} rows ({int8_mib:.0f} MiB as int8), "
          f"{args.rounds} rounds, best of {args.repeat}")  # fmt: skip
    threads = args.threads or auto_threads()
    base = measure("imports", folder, 0, threads)["peak_mib"]  # interpreter and libraries
    runs: dict[str, list[dict[str, float]]] = {"pandas": [], "numerpilot": []}
    for _ in range(max(1, args.repeat)):
        for case, done in runs.items():
            done.append(measure(case, folder, args.rounds, threads))
    results = {case: best(done) for case, done in runs.items()}
    print(f"{'':12}{'load s':>9}{'train s':>9}{'peak MiB':>10}{'above imports':>15}")
    for case, r in results.items():
        print(f"{case:12}{r['load_s']:9.2f}{r['train_s']:9.2f}{r['peak_mib']:10.0f}"
              f"{r['peak_mib'] - base:15.0f}")  # fmt: skip
    ref, ours = results["pandas"], results["numerpilot"]
    both = (ref["load_s"] + ref["train_s"]) / (ours["load_s"] + ours["train_s"])
    print(f"ratio (pandas / numerpilot), LightGBM on {threads} thread(s): "
          f"load time {ref['load_s'] / ours['load_s']:.2f}x, "
          f"train time {ref['train_s'] / ours['train_s']:.2f}x, load + train {both:.2f}x, "
          f"memory above imports "
          f"{(ref['peak_mib'] - base) / max(ours['peak_mib'] - base, 1):.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
