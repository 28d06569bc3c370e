"""The overhead of ``numerpilot cv``: k folds against one ``train`` of the same ensemble.

Both run in this process on the same synthetic data (Numerai's layout, the demo's shape by
default) and the same settings, one thread for LightGBM so other load matters less. A
fold runs train's whole recipe on the eras before its test block (expanding window), so
the folds fit on fewer rows than ``train`` does, and scores its test eras with every
metric; the ratio cv / train is the figure to watch.

    python benchmarks/bench_cv.py
    python benchmarks/bench_cv.py --eras 120 --folds 2     # quick
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from numerpilot.data.synthetic import SyntheticSpec
from numerpilot.data.synthetic_io import write_synthetic
from numerpilot.pipeline.context import Context
from numerpilot.pipeline.cv import run_cv
from numerpilot.pipeline.train import train_ensemble
from numerpilot.workdir import Workdir

CONFIG = """\
[data]
dir = "data"
version = "v5.2"
feature_set = "medium"
era_step = 1

[train]
targets = ["target", "target_ender_20"]
holdout_eras = 24
embargo_eras = 4
early_stopping_rounds = 0

[lightgbm]
n_estimators = {trees}
learning_rate = 0.05
colsample_bytree = 0.3
num_threads = 1

[cv]
folds = {folds}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eras", type=int, default=200)
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--features", type=int, default=120)
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--trees", type=int, default=150)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        root = Path(tmp_name)
        spec = SyntheticSpec(args.eras, 20, args.rows, args.features, 50, 7)
        write_synthetic(spec, root / "data" / "v5.2")
        (root / "numerpilot.toml").write_text(CONFIG.format(trees=args.trees, folds=args.folds))
        ctx = Context.load(Workdir(root))
        start = time.perf_counter()
        train_ensemble(ctx)
        train_s = time.perf_counter() - start
        start = time.perf_counter()
        result = run_cv(ctx)
        cv_s = time.perf_counter() - start
    n_test = sum(len(f.split.holdout) for f in result.folds)
    print(f"data: {args.eras} eras x {args.rows} rows x {args.features} features, "
          f"{len(result.columns) - 1} members, {args.trees} trees")  # fmt: skip
    print(f"train (one fit per member):          {train_s:7.2f} s")
    print(f"cv ({args.folds} folds, {n_test} test eras): {cv_s:7.2f} s")
    per_fold = cv_s / train_s / args.folds
    print(f"CV overhead: {cv_s / train_s:.2f}x one train ({per_fold:.2f}x per fold; "
          "expanding folds fit on fewer eras)")  # fmt: skip


if __name__ == "__main__":
    main()
