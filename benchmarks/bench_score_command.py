"""The whole ``numerpilot score`` command as a user runs it, against numerai-tools per era.

Both sides run as fresh processes on the same files (process start, imports, parquet reads
and JSON out included): numerpilot's command line, and a script that reads the same
parquet files with pandas and applies numerai-tools' ``numerai_corr`` and
``correlation_contribution`` era by era. Default: 300 eras x 5,000 rows x 8 prediction
columns with a meta model (CORR, MMC, payout), twice: with the predictions and meta model
files listing the data's ids in its order (as files of one dataset do), and with both
files' rows shuffled (every id must be matched). Each side runs --repeat times; the best
run counts (other load on the machine only ever adds time).

    python benchmarks/bench_score_command.py
    python benchmarks/bench_score_command.py --eras 60 --repeat 1     # quick
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
import pandas as pd

REFERENCE = """
import sys, json
import pandas as pd
from numerai_tools.scoring import correlation_contribution, numerai_corr
preds = pd.read_parquet(sys.argv[1])
data = pd.read_parquet(sys.argv[2], columns=["era", "target"])
meta = pd.read_parquet(sys.argv[3])["numerai_meta_model"]
frame = data.join(preds, how="inner").join(meta, how="inner")
cols = list(preds.columns)
out = {}
for era, g in frame.groupby("era"):
    corr = numerai_corr(g[cols], g["target"])
    mmc = correlation_contribution(g[cols], g["numerai_meta_model"], g["target"])
    out[era] = {"corr": corr.to_dict(), "mmc": mmc.to_dict()}
json.dump(out, open(sys.argv[4], "w"))
"""


def write_files(
    folder: Path, n_eras: int, rows: int, cols: int, seed: int = 0, shuffled: bool = False
) -> None:
    rng = np.random.default_rng(seed)
    n = n_eras * rows
    eras = np.repeat([f"{e + 1:04d}" for e in range(n_eras)], rows)
    ids = pd.Index([f"n{i:015x}" for i in rng.permutation(n)], name="id")
    signal = rng.normal(size=n)
    target = np.digitize(signal + rng.normal(scale=3, size=n), [-1.6, -0.6, 0.6, 1.6]) / 4
    pd.DataFrame({"era": eras, "target": target}, index=ids).to_parquet(folder / "data.parquet")
    preds = pd.DataFrame(
        signal[:, None] + rng.normal(scale=2, size=(n, cols)),
        index=ids, columns=[f"model_{j}" for j in range(cols)],
    )  # fmt: skip
    meta = pd.DataFrame({"era": eras, "numerai_meta_model": signal + rng.normal(size=n)}, ids)
    if shuffled:
        preds, meta = preds.iloc[rng.permutation(n)], meta.iloc[rng.permutation(n)]
    preds.to_parquet(folder / "preds.parquet")
    meta.to_parquet(folder / "meta.parquet")


def best_of(cmd: list[str], repeat: int, cwd: Path) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{cmd[:3]} failed:\n{done.stderr[-2000:]}")
        best = min(best, elapsed)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eras", type=int, default=300)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--cols", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"score command: {args.eras} eras x {args.rows} rows x {args.cols} columns, "
          "CORR + MMC + payout, process start to JSON written")  # fmt: skip
    for shuffled in (False, True):
        ref, ours, diff = run_case(args, shuffled)
        case = "rows shuffled" if shuffled else "rows in order"
        print(f"  {case:14}  numerai-tools per era {ref:6.2f} s   numerpilot score {ours:5.2f} s"
              f"   ratio {ref / ours:5.1f}x   max |diff| {diff:.1e}")  # fmt: skip


def run_case(args: argparse.Namespace, shuffled: bool) -> tuple[float, float, float]:
    """(reference seconds, numerpilot seconds, max per-era difference) on one set of files."""
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        write_files(tmp, args.eras, args.rows, args.cols, shuffled=shuffled)
        files = ["preds.parquet", "data.parquet", "meta.parquet"]
        ours_cmd = [sys.executable, "-m", "numerpilot", "score", files[0], "--data", files[1],
                    "--meta-model", files[2], "--json", "ours.json"]  # fmt: skip
        ref_cmd = [sys.executable, "-c", REFERENCE, *files, "ref.json"]
        ours = best_of(ours_cmd, args.repeat, tmp)
        ref = best_of(ref_cmd, 1, tmp)
        mine = json.loads((tmp / "ours.json").read_text())
        theirs = json.loads((tmp / "ref.json").read_text())
    diff = max(
        abs(mine[col]["per_era"][metric][era] - values[metric][col])
        for era, values in theirs.items()
        for metric in ("corr", "mmc")
        for col in values[metric]
    )
    return ref, ours, diff


if __name__ == "__main__":
    main()
