"""Trained ensembles on disk: ``models/manifest.json`` plus one LightGBM text file per target.

Model text files are LightGBM's portable format, so a bundle loads with any LightGBM 4.x
and can be embedded verbatim in a model-upload pickle.
"""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import lightgbm as lgb

from numerpilot.errors import DataError
from numerpilot.io import write_json_atomic, write_text_atomic

MANIFEST = "manifest.json"
FORMAT = 1


def library_versions() -> dict[str, str]:
    libs = ("numerpilot", "lightgbm", "numpy", "pandas", "scipy", "pyarrow")
    return {"python": platform.python_version(), **{lib: version(lib) for lib in libs}}


@dataclass
class Manifest:
    """What a bundle was trained on and how its models combine."""

    data_version: str
    feature_set: str
    features: list[str]
    targets: list[str]
    weights: list[float]
    params: dict[str, Any]
    best_iterations: dict[str, int]
    holdout_scores: dict[str, float | None]
    neutralization_proportion: float = 0.0
    neutralizer_features: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=library_versions)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    format: int = FORMAT

    def model_file(self, target: str) -> str:
        return f"{target}.txt"


@dataclass
class Bundle:
    manifest: Manifest
    boosters: dict[str, lgb.Booster]


def save_bundle(folder: Path, manifest: Manifest, boosters: dict[str, lgb.Booster]) -> None:
    """Write every model file, then the manifest last, so a reader never sees half a bundle."""
    for target, booster in boosters.items():
        text = booster.model_to_string(num_iteration=manifest.best_iterations[target])
        write_text_atomic(folder / manifest.model_file(target), text)
    write_json_atomic(folder / MANIFEST, asdict(manifest))


def load_manifest(folder: Path) -> Manifest:
    path = folder / MANIFEST
    if not path.exists():
        raise DataError(f"no trained models in {folder}. Run 'numerpilot train' first "
                        "(or 'numerpilot run --demo').")  # fmt: skip
    raw = json.loads(path.read_text(encoding="utf-8"))
    if raw.get("format") != FORMAT:
        raise DataError(f"{path} has format {raw.get('format')}, expected {FORMAT}; retrain.")
    return Manifest(**raw)


def load_model_strings(folder: Path, manifest: Manifest) -> dict[str, str]:
    """LightGBM model text per target (what a model-upload pickle embeds)."""
    out = {}
    for target in manifest.targets:
        path = folder / manifest.model_file(target)
        if not path.exists():
            raise DataError(f"{path} is missing; retrain with 'numerpilot train'.")
        out[target] = path.read_text(encoding="utf-8")
    return out


def load_bundle(folder: Path) -> Bundle:
    manifest = load_manifest(folder)
    strings = load_model_strings(folder, manifest)
    boosters = {t: lgb.Booster(model_str=s) for t, s in strings.items()}
    return Bundle(manifest, boosters)
