"""Model quality: numerpilot's default recipe against Numerai's example recipe and the best
achievable prediction, on several generator families it was never tuned to.

Each family (``benchmarks/quality_data.py``) is written in Numerai's layout; numerpilot's
``train`` runs on it with only the data folder, feature set "all" and the family's targets
configured; its ensemble is then scored per era on validation, as ``validate`` does. The
example recipe is one LightGBM on the main target: 2,000 trees, lr 0.01, depth 5, 31
leaves, colsample 0.1, every training era, no early stopping. The best achievable knows
the stationary signal exactly (not the era's regime sign or drift).

    python benchmarks/bench_quality.py            # every family, half the rows, 60 % of the eras
    python benchmarks/bench_quality.py --full     # the families' full sizes (~1.5 hours on 2 cores)
    python benchmarks/bench_quality.py --quick    # smaller still, for development
    python benchmarks/bench_quality.py --family regime-flips --set train.cv_folds=0
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from numerpilot.config import LightGBMConfig
from numerpilot.config_file import parse_config
from numerpilot.data import layout
from numerpilot.data.load import load_era_data
from numerpilot.kernel.eras import EraIndex
from numerpilot.modeling.lgbm import predict_rows, train_target
from numerpilot.modeling.store import load_bundle
from numerpilot.pipeline.context import Context
from numerpilot.pipeline.predict import predict_file
from numerpilot.pipeline.train import train_ensemble
from numerpilot.scoring.per_era import per_era_corr
from numerpilot.workdir import Workdir
from quality_data import FAMILIES, LATER_FIELDS, Family, write_family

CACHE = Path(tempfile.gettempdir()) / "numerpilot-bench-quality"
EXAMPLE = LightGBMConfig(
    n_estimators=2000, learning_rate=0.01, max_depth=5, num_leaves=31, colsample_bytree=0.1
)


def _key(fam: Family) -> str:
    fields = {k: v for k, v in asdict(fam).items() if LATER_FIELDS.get(k, ...) != v}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:12]


def _summary(per_era: np.ndarray) -> dict[str, float]:
    v = per_era[np.isfinite(per_era)]
    return {"mean": float(v.mean()), "sharpe": float(v.mean() / v.std())}


def _score(pred: np.ndarray, target: np.ndarray, index: EraIndex) -> np.ndarray:
    return per_era_corr(pred, target, index).values[:, 0]


def _data(fam: Family) -> tuple[Path, np.ndarray]:
    folder = CACHE / f"{fam.name}-{_key(fam)}" / "v1"
    best = folder / "best.npy"
    if not best.exists():
        generated = write_family(fam, folder)
        np.save(best, generated.best)
    return folder, np.load(best)


def example_recipe(folder: Path) -> np.ndarray:
    """Validation predictions of Numerai's example recipe (cached per dataset)."""
    cached = folder / "example.npy"
    if cached.exists():
        return np.load(cached)
    features = json.loads((folder / layout.FEATURES_JSON).read_text())["feature_sets"]["all"]
    train = load_era_data(folder / layout.TRAIN, features, [layout.MAIN_TARGET])
    model = train_target(
        train.features, train.target(layout.MAIN_TARGET), train.eras,
        target=layout.MAIN_TARGET, feature_names=features, cfg=EXAMPLE, split=None,
    )  # fmt: skip
    val = load_era_data(folder / layout.VALIDATION, features)
    pred = predict_rows(model.booster, val.features, np.arange(len(val)), EXAMPLE.n_estimators)
    np.save(cached, pred)
    return pred


def numerpilot_default(
    fam: Family, folder: Path, work: Path, overrides: dict[str, dict[str, Any]]
) -> tuple[np.ndarray, dict[str, Any]]:
    """Validation predictions of numerpilot's default recipe, as `train` + `validate` run it."""
    raw: dict[str, dict[str, Any]] = {
        "data": {"dir": str(folder.parent), "version": folder.name, "feature_set": "all"},
        "train": {"targets": fam.targets},
    }
    for section, values in overrides.items():
        raw.setdefault(section, {}).update(values)
    config = parse_config(raw, Path("bench"))
    work.mkdir(parents=True, exist_ok=True)
    ctx = Context(Workdir(work), config)
    manifest = train_ensemble(ctx)
    bundle = load_bundle(ctx.workdir.models)
    result = predict_file(bundle, folder / layout.VALIDATION)
    weights = dict(zip(manifest.targets, manifest.weights, strict=True))
    return result.final, {"trees": manifest.best_iterations, "weights": weights}


def _parse_overrides(items: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, value = item.split("=", 1)
        section, name = key.split(".", 1)
        out.setdefault(section, {})[name] = json.loads(value)
    return out


def run_family(fam: Family, overrides: dict[str, dict[str, Any]]) -> dict[str, Any]:
    folder, best = _data(fam)
    val = load_era_data(folder / layout.VALIDATION, [], [layout.MAIN_TARGET])
    target, index = val.target(layout.MAIN_TARGET), val.era_index
    start = time.perf_counter()
    example = _score(example_recipe(folder), target, index)
    example_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        pred, facts = numerpilot_default(fam, folder, Path(tmp), overrides)
        default_s = time.perf_counter() - start
    ours = _score(pred, target, index)
    diff = (ours - example)[np.isfinite(ours - example)]
    return {
        "family": fam.name,
        "best": _summary(_score(best, target, index)),
        "example": _summary(example),
        "numerpilot": _summary(ours),
        "gain": float(diff.mean()),
        "gain_se": float(diff.std(ddof=1) / np.sqrt(len(diff))),
        "example_s": example_s,
        "numerpilot_s": default_s,
        **facts,
    }


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| family | numerpilot CORR | sharpe | % of best | example CORR | sharpe | % of best "
        "| best CORR | sharpe | numerpilot - example |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    lines = [head]
    for r in rows:
        b, e, n = r["best"], r["example"], r["numerpilot"]
        lines.append(
            f"| {r['family']} | {n['mean']:.4f} | {n['sharpe']:.2f} | "
            f"{100 * n['mean'] / b['mean']:.0f} % | {e['mean']:.4f} | {e['sharpe']:.2f} | "
            f"{100 * e['mean'] / b['mean']:.0f} % | {b['mean']:.4f} | {b['sharpe']:.2f} | "
            f"{r['gain']:+.4f} ± {r['gain_se']:.4f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a quarter of the rows, half the eras")
    parser.add_argument("--full", action="store_true", help="the families' full sizes")
    parser.add_argument("--family", action="append", help="only these families")
    parser.add_argument("--set", action="append", default=[], help="config override KEY=JSON")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    overrides = _parse_overrides(args.set)
    families = [f for f in FAMILIES if not args.family or f.name in args.family]
    if args.quick:
        families = [f.scaled(rows=0.25, eras=0.5) for f in families]
    elif not args.full:  # make bench: half the rows, 60 % of the eras (~35 min on 2 cores;
        # the families and the example recipe's predictions are cached after the first run)
        families = [f.scaled(rows=0.5, eras=0.6) for f in families]
    rows = []
    for fam in families:
        row = run_family(fam, overrides)
        print(
            f"{fam.name}: numerpilot {row['numerpilot']['mean']:.4f} "
            f"(sharpe {row['numerpilot']['sharpe']:.2f}, {row['numerpilot_s']:.0f} s), "
            f"example {row['example']['mean']:.4f} (sharpe {row['example']['sharpe']:.2f}), "
            f"best {row['best']['mean']:.4f}; trees {row['trees']}, weights "
            + ", ".join(f"{t} {w:.2f}" for t, w in row["weights"].items()),
            flush=True,
        )
        rows.append(row)
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    worse = [r["family"] for r in rows if r["numerpilot"]["mean"] < r["example"]["mean"]]
    if worse:
        print(f"numerpilot's default is below the example recipe on: {', '.join(worse)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
