"""Names and conventions of Numerai's dataset files (shared by real and synthetic data)."""

from __future__ import annotations

import re

TRAIN = "train.parquet"
VALIDATION = "validation.parquet"
LIVE = "live.parquet"
FEATURES_JSON = "features.json"
META_MODEL = "meta_model.parquet"
VALIDATION_BENCHMARKS = "validation_benchmark_models.parquet"
LIVE_BENCHMARKS = "live_benchmark_models.parquet"

#: The data version of the demo dataset (``--demo``), as manifests and sidecars record it.
DEMO_VERSION = "demo"

#: Files a version needs before numerpilot can train, validate and predict.
REQUIRED_FILES = (TRAIN, VALIDATION, LIVE, FEATURES_JSON)

META_MODEL_COLUMN = "numerai_meta_model"
MAIN_TARGET = "target"


def without_target_advice(target: str) -> str:
    """What to do about a target with too few known values: leave an auxiliary one out;
    the main target is read whatever train.targets lists (the ensemble's weights are
    fitted against it), so it must be filled in."""
    if target == MAIN_TARGET:
        return f"fill the '{MAIN_TARGET}' column of train.parquet (the ensemble is weighted by it)"
    return "remove it from train.targets"


ERA = "era"
ID = "id"
DATA_TYPE = "data_type"
LIVE_ERA = "X"

FEATURE_GROUPS = (
    "intelligence",
    "wisdom",
    "charisma",
    "dexterity",
    "strength",
    "constitution",
    "agility",
    "serenity",
)

#: Auxiliary target names of v5.2; each exists as ``target_<name>_20`` and ``target_<name>_60``.
TARGET_NAMES = (
    "agnes",
    "alpha",
    "bravo",
    "caroline",
    "charlie",
    "claudia",
    "cyrusd",
    "delta",
    "echo",
    "ender",
    "jasper",
    "jeremy",
    "ralph",
    "rowan",
    "sam",
    "teager2b",
    "tyler",
    "victor",
    "waldo",
    "xerxes",
)

#: In v5 the main target is the 20-day cyrusd target.
MAIN_TARGET_ALIAS = "target_cyrusd_20"

BENCHMARK_NAMES = ("cyrusd", "teager2b", "ender", "jasper")


_VERSION = re.compile(r"^v(\d+)(?:\.(\d+))?(?:\.(\d+))?$")


def version_key(version: str) -> tuple[int, ...]:
    """Sort key of ``v5.2``-style dataset versions (anything else sorts first, as (-1,))."""
    match = _VERSION.match(version)
    return tuple(int(g) for g in match.groups() if g is not None) if match else (-1,)


def benchmark_column(name: str, horizon: int, prefix: str = "v52") -> str:
    return f"{prefix}_lgbm_{name}{horizon}"
