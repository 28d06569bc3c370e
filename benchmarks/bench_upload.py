"""How many trees fit Numerai's model-upload runtime (1 CPU, 4 GB, 10 minutes), with margin.

Builds upload pickles for the medium feature set (780 features) with four targets at a few
tree counts, runs each in the runtime replica (exact image pins, 1 CPU, RLIMIT_AS 4 GB) on a
full-size live frame (6,700 rows, all 2,748 feature columns as Numerai serves them), and fits
wall time and peak memory linearly in the number of trees. Prediction cost does not depend on
what the trees learned, only on their number and size, so each target reuses one booster
trained on random data with the configured shape.

    .venv/bin/python benchmarks/bench_upload.py [--trees 250,1000,2000] [--leaves 31]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from numerpilot.model_upload.build import build_upload
from numerpilot.model_upload.check import run_in_runtime
from numerpilot.model_upload.images import image_for, python_minor
from numerpilot.model_upload.replica import ensure_replica
from numerpilot.modeling.manifest import Manifest
from numerpilot.modeling.store import save_bundle

TARGETS = ["target", "target_teager2b_20", "target_ender_20", "target_jasper_20"]
TIME_BUDGET_S, MEMORY_BUDGET_MB = 600.0, 4096.0
MARGIN = 0.5  # use at most half of each limit


def live_frame(rows: int, n_all: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = rng.choice(
        np.arange(5, dtype=np.int8), size=(rows, n_all), p=[0.05, 0.2, 0.5, 0.2, 0.05]
    )
    names = [f"feature_{j:04d}" for j in range(n_all)]
    frame = pd.DataFrame(
        values, columns=names, index=pd.Index([f"n{j:015x}" for j in range(rows)], name="id")
    )
    frame.insert(0, "era", "X")
    frame.insert(1, "data_type", "live")
    frame["target"] = np.nan
    return frame


def booster(features: list[str], trees: int, leaves: int, seed: int = 0) -> lgb.Booster:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 5, size=(8000, len(features))).astype(np.float32)
    y = rng.random(8000)
    params = {
        "objective": "regression",
        "num_leaves": leaves,
        "max_depth": -1,
        "learning_rate": 0.01,
        "colsample_bytree": 0.1,
        "min_data_in_leaf": 5,
        "verbosity": -1,
        "seed": seed,
    }
    return lgb.train(params, lgb.Dataset(x, y, feature_name=features), num_boost_round=trees)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", default="250,1000,2000", help="trees per target")
    parser.add_argument("--leaves", type=int, default=31)
    parser.add_argument("--rows", type=int, default=6700)
    parser.add_argument("--features", type=int, default=780)
    parser.add_argument("--all-features", type=int, default=2748)
    args = parser.parse_args()
    image = image_for(python_minor())
    started = time.monotonic()
    python = ensure_replica(image)
    print(f"replica {image.key} ready in {time.monotonic() - started:.0f} s: {python}")
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp_name:
        tmp = Path(tmp_name)
        frame = live_frame(args.rows, args.all_features)
        live = tmp / "live.parquet"
        frame.to_parquet(live)
        features = list(frame.columns[2 : 2 + args.features])
        rows = []
        for per_target in [int(t) for t in args.trees.split(",")]:
            model = booster(features, per_target, args.leaves)
            models = tmp / f"models_{per_target}"
            manifest = Manifest(
                "bench",
                "medium",
                features,
                TARGETS,
                [1.0] * 4,
                {},
                dict.fromkeys(TARGETS, per_target),
                {},
            )
            save_bundle(models, manifest, dict.fromkeys(TARGETS, model))
            built = build_upload(models, tmp / f"model_{per_target}.pkl")
            result = run_in_runtime(python, built.path, live, image=image)
            assert result.passed, result
            total = 4 * per_target
            rows.append((total, result.wall_seconds, result.peak_rss_mb, built.info["bytes"]))
            print(
                f"{total:6d} trees ({args.leaves} leaves): wall {result.wall_seconds:6.1f} s, "
                f"peak {result.peak_rss_mb:6.0f} MB, pickle {built.info['bytes'] / 1e6:5.1f} MB"
            )
    trees = np.array([r[0] for r in rows], dtype=float)
    wall_fit = np.polyfit(trees, [r[1] for r in rows], 1)
    mem_fit = np.polyfit(trees, [r[2] for r in rows], 1)
    fit_time = (MARGIN * TIME_BUDGET_S - wall_fit[1]) / wall_fit[0]
    fit_mem = (MARGIN * MEMORY_BUDGET_MB - mem_fit[1]) / mem_fit[0]
    print(
        f"wall = {wall_fit[1]:.1f} s + {wall_fit[0] * 1000:.2f} ms/tree; "
        f"peak = {mem_fit[1]:.0f} MB + {mem_fit[0] * 1000:.1f} MB/1000 trees"
    )
    print(
        f"with {MARGIN:.0%} margin on both limits: about {min(fit_time, fit_mem):,.0f} trees "
        f"of {args.leaves} leaves in total (time allows {fit_time:,.0f}, memory {fit_mem:,.0f})"
    )


if __name__ == "__main__":
    main()
