"""A bundle's manifest: what its models were trained on and how they combine, and reading
``models/manifest.json`` (refused, naming what to restore, when damaged or edited by hand).

``manifest.json`` is the current bundle's manifest plus which bundle was in use before;
each bundle folder keeps its own copy, which ``manifest.json`` must agree with.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from numerpilot import __version__
from numerpilot.errors import DataError
from numerpilot.kernel.ensemble import PAYLOAD_FORMAT, Payload
from numerpilot.modeling.manifest_shape import BUNDLE_PREFIX, is_folder_name, shape_problem

MANIFEST = "manifest.json"
#: How manifests are read: UTF-8, with the byte-order mark an editor may add (Notepad).
_ENCODING = "utf-8-sig"
#: 2: model files in the bundle's own folder; 1 (still read): beside the manifest.
FORMAT = 2
READABLE_FORMATS = (1, 2)


def library_versions() -> dict[str, str]:
    """Python's and the libraries' versions a bundle was trained with (numerpilot's own from
    the package, which a checkout run without an install has too)."""
    libs = ("lightgbm", "numpy", "pandas", "scipy", "pyarrow")
    return {"python": platform.python_version(), "numerpilot": __version__,
            **{lib: version(lib) for lib in libs}}  # fmt: skip


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
    #: The target the weights were fitted against (``train.main_target``; the data's main
    #: ``target`` in a bundle of an earlier numerpilot).
    main_target: str = "target"
    #: Per member: its model file's ``sha256`` and ``bytes`` as saved ({} in a bundle of an
    #: earlier numerpilot), checked before the file is parsed.
    files: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False)
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


def bundle_manifest(folder: Path, name: str) -> Manifest | None:
    """The manifest a bundle folder carries (None: no such bundle, or unreadable)."""
    try:
        raw = read_json(folder / name / MANIFEST)
    except (OSError, ValueError):
        return None
    ok = isinstance(raw, dict) and not _shape_problem(raw) and raw.get("format") == FORMAT
    return Manifest(**raw) if ok else None


def load_manifest(folder: Path) -> Manifest:
    """``manifest.json`` of ``folder``, refused when damaged: unreadable, fields of the wrong
    shape, or (a bundle of format 2) other values than the bundle folder's own copy."""
    path = folder / MANIFEST
    if folder.exists() and not folder.is_dir():
        raise DataError(f"{folder} is a file, not the folder of the trained models: move it "
                        "away, then run 'numerpilot train'.")  # fmt: skip
    if not path.exists():
        raise DataError(f"no trained models in {folder}. Run 'numerpilot train' first "
                        "('numerpilot train --demo' on the demo data).")  # fmt: skip
    if path.is_dir():
        raise DataError(f"{path} is a folder, not the manifest of the trained models; move it "
                        f"away, then {_restore_any(folder)}")  # fmt: skip
    try:
        raw = read_json(path)
    except ValueError:
        raise DataError(f"{path} is damaged; {_restore_any(folder)}") from None
    if not isinstance(raw, dict):
        raise DataError(f"{path} is damaged (not a JSON object); {_restore_any(folder)}")
    if raw.get("format") not in READABLE_FORMATS or isinstance(raw.get("format"), bool):
        raise DataError(f"{path} has format {raw.get('format')}, which this numerpilot "
                        f"cannot read{_by_newer(raw)}; {_UPGRADE}retrain with 'numerpilot "
                        "train'.")  # fmt: skip
    copy = _own_copy(folder, raw)
    restore = (f"copy {copy[0]} (the bundle's own copy) over it, or retrain with 'numerpilot "
               "train'.") if copy else _restore_any(folder)  # fmt: skip
    problem = _shape_problem(raw)
    if problem and _by_newer(raw):  # not damaged: this numerpilot is older than its writer
        problem = problem.replace(" (written by a newer numerpilot?)", "")
        raise DataError(f"{path} holds what this numerpilot cannot read ({problem})"
                        f"{_by_newer(raw)}; {_UPGRADE}retrain with 'numerpilot "
                        "train'.")  # fmt: skip
    if problem:
        raise DataError(f"{path} is damaged ({problem}); {restore}")
    if copy:
        differ = [k for k in raw if k in copy[1] and k not in _MAY_DIFFER
                  and not _same(raw[k], copy[1][k])]  # fmt: skip
        if differ:
            raise DataError(f"{path} differs from its bundle's own copy in {', '.join(differ)} "
                            f"(edited by hand?); {restore}")  # fmt: skip
    elif raw.get("bundle"):  # nothing to compare with: its members must be the files there
        misfit = _misfit(folder / raw["bundle"], raw["targets"])
        if misfit:
            raise DataError(f"{path} does not fit the model files of {folder / raw['bundle']}: "
                            f"{misfit} (edited by hand?), and the bundle's own copy of {MANIFEST}, "
                            f"which would show its members, is missing; {restore}")  # fmt: skip
    return Manifest(**raw)


_RETRAIN = "retrain with 'numerpilot train'."
_UPGRADE = "upgrade numerpilot (pip install -U numerpilot) to use these models, or "


def _by_newer(raw: dict[str, Any]) -> str:
    """The words ", written by numerpilot X, newer than this one (Y)" for a manifest whose
    ``versions`` name a newer numerpilot than this one ("" otherwise)."""
    versions = raw.get("versions")
    writer = versions.get("numerpilot") if isinstance(versions, dict) else None
    mine = __version__
    if not isinstance(writer, str) or _release(writer) <= _release(mine):
        return ""
    return f", written by numerpilot {writer}, newer than this one ({mine})"


def _release(text: str) -> tuple[int, ...]:
    """The release numbers of a version ("1.2.3rc1" -> (1, 2, 3)); () if none."""
    found = re.match(r"\d+(\.\d+)*", text.strip())
    return tuple(int(part) for part in found.group(0).split(".")) if found else ()


def _misfit(bundle: Path, targets: list[str]) -> str:
    """Which model files in a bundle folder are no member's, and which members' are not
    there ("" when none is no member's: a save writes one file per member, no other)."""
    named = {f"{target}.txt" for target in targets}
    there = {p.name for p in bundle.glob("*.txt") if not p.name.startswith(".")}
    unnamed, absent = sorted(there - named), sorted(named - there)
    if not unnamed:
        return ""  # a missing one is refused by name when it is read
    said = f"it names no member for {', '.join(unnamed)}"
    verb = "is" if len(absent) == 1 else "are"
    return said + (f", and names {', '.join(absent)}, which {verb} not there" if absent else "")


#: What may differ between ``manifest.json`` and its bundle's own copy: what a switch
#: writes, and when the bundle was trained (no part of what predicts).
_MAY_DIFFER = frozenset({"previous", "in_use_since", "created"})


def read_json(path: Path) -> Any:
    """A manifest's JSON (OSError, ValueError: unreadable)."""
    return json.loads(path.read_text(encoding=_ENCODING))


def _restore_any(folder: Path) -> str:
    """What to do about a ``manifest.json`` that names no readable bundle: put back the copy
    of the newest bundle folder whose own manifest is whole, or retrain."""
    names = sorted((p.parent.name for p in folder.glob(f"{BUNDLE_PREFIX}*/{MANIFEST}")),
                   reverse=True)  # fmt: skip
    whole = next((name for name in names if bundle_manifest(folder, name)), None)
    if whole is None:
        return "retrain with 'numerpilot train'."
    which = ("the newest bundle's own copy" if whole == names[0] else
             "the newest whole copy of a bundle's manifest, of older models")  # fmt: skip
    return f"copy {folder / whole / MANIFEST} ({which}) over it, or {_RETRAIN}"


def _same(a: object, b: object) -> bool:
    """Equal JSON values (a NaN score equals itself)."""
    return a == b or json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _own_copy(folder: Path, raw: dict[str, Any]) -> tuple[Path, dict[str, Any]] | None:
    """The path and fields of the manifest copy in ``raw``'s bundle folder, if it is whole."""
    name = raw.get("bundle")
    if not (isinstance(name, str) and is_folder_name(name) and name):
        return None
    path = folder / name / MANIFEST
    try:
        copy = read_json(path)
    except (OSError, ValueError):
        return None
    return (path, copy) if isinstance(copy, dict) and not _shape_problem(copy) else None


def _shape_problem(raw: dict[str, Any]) -> str | None:
    """What is wrong with the fields of a manifest of this numerpilot (None: nothing)."""
    return shape_problem(raw, dataclasses.fields(Manifest), FORMAT)
