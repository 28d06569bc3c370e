"""Trained ensembles on disk: ``models/manifest.json`` plus one model text file per member
(LightGBM text, XGBoost JSON, or a linear member's JSON).

A bundle's model files live in a folder of their own, ``models/bundle-<time>-<id>/``, and
the manifest names that folder. Saving writes the new folder beside the current one and
then replaces ``manifest.json`` (one rename): a full disk, a crash or Ctrl-C before that
leaves the previous bundle whole and in use, never a mix of old and new files.
``manifest.json`` also names the bundle that was in use before (``previous``): that one is
kept, for ``models rollback`` and for a reader still loading it; every other bundle folder
(older ones, or one that a killed training left unpublished) goes at the next publish. The
callers hold :meth:`~numerpilot.workdir.Workdir.changing_models` meanwhile.

Model text files are LightGBM's portable format, so a bundle loads with any LightGBM 4.x.
A loaded bundle is the kernel's *payload* (plain data) plus the models built from it: the
very payload a model-upload pickle carries.
"""

from __future__ import annotations

import json
import platform
import secrets
import shutil
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import lightgbm as lgb

from numerpilot.errors import DataError
from numerpilot.io import write_json_atomic, write_text_atomic
from numerpilot.kernel.ensemble import PAYLOAD_FORMAT, Payload, build_models
from numerpilot.modeling.lgbm import fatal_lines_hidden

MANIFEST = "manifest.json"
#: 2: model files in the bundle's own folder; 1 (still read): beside the manifest.
FORMAT = 2
READABLE_FORMATS = (1, 2)
BUNDLE_PREFIX = "bundle-"


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
    #: The folder (inside the models folder) holding the model files; "" for format 1.
    bundle: str = field(default="", compare=False)
    #: The library of the model files: "lightgbm" (text) or "xgboost" (JSON).
    backend: str = "lightgbm"
    #: Members of another kind than ``backend``: name -> "linear" (a linear model's JSON).
    kinds: dict[str, str] = field(default_factory=dict)
    #: The ensemble's mean held-out CORR per era with its fitted weights (None: weights
    #: as configured, or a bundle of an earlier numerpilot).
    ensemble_holdout: float | None = None
    #: Trained on every ``era_step``-th era of train (``data.era_step``, or the memory plan's).
    era_step: int = 1
    #: In ``manifest.json`` only: the bundle in use before this one ("" if none; None in a
    #: manifest written before it was recorded), and since when this one is in use
    #: (published or rolled back to).
    previous: str | None = field(default=None, compare=False)
    in_use_since: str = field(default="", compare=False)

    def model_file(self, target: str) -> str:
        """Path of a target's model text, relative to the models folder."""
        return f"{self.bundle}/{target}.txt" if self.bundle else f"{target}.txt"

    def payload(self, model_strings: dict[str, str]) -> Payload:
        """The kernel's payload: plain data only (str, float, list, dict)."""
        return {
            "format": PAYLOAD_FORMAT,
            "backend": self.backend,
            "data_version": str(self.data_version),
            "features": [str(f) for f in self.features],
            "members": [str(t) for t in self.targets],
            "weights": [float(w) for w in self.weights],
            "models": {str(t): str(model_strings[t]) for t in self.targets},
            "kinds": {str(t): str(k) for t, k in self.kinds.items()},
            "neutralization_proportion": float(self.neutralization_proportion),
            "neutralizer_features": [str(f) for f in self.neutralizer_features],
        }


@dataclass(frozen=True)
class Bundle:
    """A trained ensemble: its manifest, its payload and the models built from it."""

    manifest: Manifest
    payload: Payload
    models: dict[str, Any]


def _new_bundle_name() -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    return f"{BUNDLE_PREFIX}{stamp}-{secrets.token_hex(3)}"


def save_bundle(
    folder: Path,
    manifest: Manifest,
    boosters: dict[str, lgb.Booster] | dict[str, str],
    *,
    publish: bool = True,
) -> Manifest:
    """Write the model files (and a copy of the manifest) into a new bundle folder, then,
    with ``publish``, switch ``manifest.json`` to it; returns the bundle's manifest.

    Until the manifest is replaced (the last step, one rename), readers see the previous
    bundle, whole; a failure removes the unfinished folder. An unpublished bundle waits
    for :func:`publish_bundle` (or :func:`discard_bundle`).
    """
    final = replace(manifest, bundle=_new_bundle_name(), format=FORMAT)
    try:
        for target, booster in boosters.items():
            text = (  # model text as it is, or a booster cut at its best iteration
                booster
                if isinstance(booster, str)
                else booster.model_to_string(num_iteration=final.best_iterations[target])
            )
            write_text_atomic(folder / final.model_file(target), text)
        write_json_atomic(folder / final.bundle / MANIFEST, asdict(final))
        if publish:
            final = publish_bundle(folder, final)
    except BaseException:  # e.g. Ctrl-C: after the publish the bundle is in use and stays
        discard_bundle(folder, final)
        raise
    return final


def publish_bundle(folder: Path, manifest: Manifest) -> Manifest:
    """Make ``manifest``'s bundle the current one (one atomic rename of manifest.json),
    naming the bundle in use until now as its ``previous``; returns what was written."""
    before = _current_or_none(folder)
    previous = before.bundle if before and before.bundle != manifest.bundle else ""
    published = _in_use(manifest, previous)
    write_json_atomic(folder / MANIFEST, asdict(published))
    _remove_old_bundles(folder, published)
    return published


def _in_use(manifest: Manifest, previous: str) -> Manifest:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return replace(manifest, previous=previous, in_use_since=now)


def _current_or_none(folder: Path) -> Manifest | None:
    try:
        return load_manifest(folder) if (folder / MANIFEST).exists() else None
    except DataError:  # a damaged manifest.json: nothing to keep as "previous"
        return None


def discard_bundle(folder: Path, manifest: Manifest) -> None:
    """Remove an unpublished bundle's folder (never the current one: an interruption just
    after the publish must not take the models in use with it), and any other folder that
    is neither current nor previous (a killed training's)."""
    current = _current_or_none(folder)
    if manifest.bundle and not (current and current.bundle == manifest.bundle):
        shutil.rmtree(folder / manifest.bundle, ignore_errors=True)
    if current is not None and current.previous is not None:  # else: which is previous?
        _remove_old_bundles(folder, current)


def _bundle_manifest(folder: Path, name: str) -> Manifest | None:
    """The manifest a bundle folder carries (None: no such bundle, or unreadable)."""
    try:
        raw = json.loads((folder / name / MANIFEST).read_text(encoding="utf-8"))
        return Manifest(**raw)
    except (OSError, ValueError, TypeError):
        return None


def _previous(folder: Path, current: Manifest) -> Manifest | None:
    """The bundle in use before ``current``: the one ``manifest.json`` names (none for
    ""), or, for a manifest written before it named one, the newest bundle folder older
    than ``current`` (a newer one is a training that never finished)."""
    if current.previous is not None:
        return _bundle_manifest(folder, current.previous) if current.previous else None
    older = sorted((p.parent.name for p in folder.glob(f"{BUNDLE_PREFIX}*/{MANIFEST}")
                    if p.parent.name < current.bundle), reverse=True)  # fmt: skip
    return next((m for n in older if (m := _bundle_manifest(folder, n))), None)


def kept_bundles(folder: Path) -> list[Manifest]:
    """The current bundle and the one in use before it (if kept), newest first."""
    current = load_manifest(folder)
    previous = _previous(folder, current)
    kept = [current, *([previous] if previous else [])]
    return sorted(kept, key=lambda m: m.bundle, reverse=True)


def rollback(folder: Path) -> tuple[Manifest, Manifest]:
    """Switch back to the bundle in use before the current one; returns (from, to).
    Rolling back twice returns to where it started."""
    current = load_manifest(folder)
    earlier = _previous(folder, current)
    if earlier is None:
        raise DataError(f"no earlier bundle is kept in {folder} to roll back to.")
    try:
        load_bundle(folder, earlier)  # its model files must be whole before it serves
    except DataError as error:
        raise DataError(f"the earlier bundle {earlier.bundle} cannot be used, so the "
                        f"current one stays: {str(error).split(';')[0]}. Retrain with "
                        "'numerpilot train'.") from None  # fmt: skip
    switched = _in_use(earlier, current.bundle)
    write_json_atomic(folder / MANIFEST, asdict(switched))
    return current, switched


def _remove_old_bundles(folder: Path, current: Manifest) -> None:
    """Keep the current bundle folder and its previous one; drop format-1 model files."""
    keep = {current.bundle, current.previous or ""}
    for path in folder.glob(f"{BUNDLE_PREFIX}*"):
        if path.is_dir() and path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)
    for flat in folder.glob("target*.txt"):  # model files of format 1
        flat.unlink(missing_ok=True)


def unreadable_files(folder: Path, manifest: Manifest) -> list[str]:
    """The bundle's model files that are missing or empty (a quick look: ``load_bundle``
    is what finds a file damaged inside)."""
    paths = (folder / manifest.model_file(t) for t in manifest.targets)
    return [p.name for p in paths if not p.is_file() or p.stat().st_size == 0]


def load_manifest(folder: Path) -> Manifest:
    path = folder / MANIFEST
    if not path.exists():
        raise DataError(f"no trained models in {folder}. Run 'numerpilot train' first "
                        "(or add --demo to use the synthetic demo data).")  # fmt: skip
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("format") not in READABLE_FORMATS:
            raise DataError(f"{path} has format {raw.get('format')}, which this numerpilot "
                            "cannot read; retrain with 'numerpilot train'.")  # fmt: skip
        return Manifest(**raw)
    except (ValueError, TypeError, AttributeError):
        raise DataError(f"{path} is damaged; retrain with 'numerpilot train'.") from None


def load_model_strings(folder: Path, manifest: Manifest) -> dict[str, str]:
    """LightGBM model text per target (what a model-upload pickle embeds)."""
    out = {}
    for target in manifest.targets:
        path = folder / manifest.model_file(target)
        if not path.exists():
            raise DataError(f"{path} is missing; retrain with 'numerpilot train'.")
        try:
            out[target] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise DataError(damaged(path)) from None
    return out


def load_payload(folder: Path) -> tuple[Manifest, Payload]:
    """The manifest and the payload of the bundle in ``folder``."""
    manifest = load_manifest(folder)
    return manifest, manifest.payload(load_model_strings(folder, manifest))


def load_bundle(folder: Path, manifest: Manifest | None = None) -> Bundle:
    """The current bundle of ``folder`` (or the one ``manifest`` names), models built."""
    manifest = manifest or load_manifest(folder)
    payload = manifest.payload(load_model_strings(folder, manifest))
    try:
        with fatal_lines_hidden():
            models = build_models(payload)
    except (ValueError, TypeError, KeyError, lgb.basic.LightGBMError) as error:
        raise DataError(damaged(folder, error, "a model file in ")) from None
    return Bundle(manifest, payload, models)


def damaged(path: Path, error: Exception | None = None, what: str = "") -> str:
    """A model file (``what`` + a folder: one of its files) that cannot be read: what to do."""
    cause = f" ({' '.join(str(error).split())[:200]})" if error else ""
    return (
        f"{what}{path} is damaged{cause}; retrain with 'numerpilot train', or go back to the "
        "previous bundle with 'numerpilot models rollback'."
    )
