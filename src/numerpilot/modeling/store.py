"""Trained ensembles on disk: ``models/manifest.json`` plus one LightGBM text file per target.

Model text files are LightGBM's portable format, so a bundle loads with any LightGBM 4.x.
A loaded bundle is the kernel's *payload* (plain data) plus the models built from it: the
very payload a model-upload pickle carries.
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
from numerpilot.kernel.ensemble import PAYLOAD_FORMAT, Payload, build_models

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

    def payload(self, model_strings: dict[str, str]) -> Payload:
        """The kernel's payload: plain data only (str, float, list, dict)."""
        return {
            "format": PAYLOAD_FORMAT,
            "backend": "lightgbm",
            "data_version": str(self.data_version),
            "features": [str(f) for f in self.features],
            "members": [str(t) for t in self.targets],
            "weights": [float(w) for w in self.weights],
            "models": {str(t): str(model_strings[t]) for t in self.targets},
            "neutralization_proportion": float(self.neutralization_proportion),
            "neutralizer_features": [str(f) for f in self.neutralizer_features],
        }


@dataclass(frozen=True)
class Bundle:
    """A trained ensemble: its manifest, its payload and the models built from it."""

    manifest: Manifest
    payload: Payload
    models: dict[str, Any]


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


def load_payload(folder: Path) -> tuple[Manifest, Payload]:
    """The manifest and the payload of the bundle in ``folder``."""
    manifest = load_manifest(folder)
    return manifest, manifest.payload(load_model_strings(folder, manifest))


def load_bundle(folder: Path) -> Bundle:
    manifest, payload = load_payload(folder)
    return Bundle(manifest, payload, build_models(payload))
