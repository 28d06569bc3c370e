"""The shape of a bundle's ``manifest.json``: every field present, known and of its type,
and a bundle folder's name that cannot lead out of the models folder. A manifest edited by
hand or cut short is refused with what is wrong, before anything reads a model through it."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable
from typing import Any

#: The start of every bundle folder's name (``bundle-<time>-<id>``).
BUNDLE_PREFIX = "bundle-"


def is_folder_name(name: str) -> bool:
    """A bundle folder's name, or "" (format 1): never a path out of the models folder."""
    return name == "" or (name.startswith(BUNDLE_PREFIX) and not re.search(r"[/\\]|\.\.", name))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_names(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _is_table(value: object, check: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and check(v)
                                           for k, v in value.items())  # fmt: skip


def _is_file_record(value: object) -> bool:
    return (isinstance(value, dict) and isinstance(value.get("sha256"), str)
            and isinstance(value.get("bytes"), int))  # fmt: skip


#: The check of each manifest field's value.
_FIELD_CHECKS: dict[str, Any] = {
    "data_version": lambda v: isinstance(v, str),
    "feature_set": lambda v: isinstance(v, str),
    "features": _is_names,
    "targets": lambda v: _is_names(v) and len(v) > 0 and len(set(v)) == len(v),
    "weights": lambda v: isinstance(v, list) and all(_is_number(w) and math.isfinite(w) for w in v),
    "params": lambda v: isinstance(v, dict),
    "best_iterations": lambda v: _is_table(v, lambda i: isinstance(i, int)),
    "holdout_scores": lambda v: _is_table(v, lambda x: x is None or _is_number(x)),
    "neutralization_proportion": _is_number,
    "neutralizer_features": _is_names,
    "versions": lambda v: isinstance(v, dict),
    "created": lambda v: isinstance(v, str),
    "format": lambda v: isinstance(v, int),
    "bundle": lambda v: isinstance(v, str) and is_folder_name(v),
    "backend": lambda v: v in ("lightgbm", "xgboost"),
    "kinds": lambda v: _is_table(v, lambda k: isinstance(k, str)),
    "ensemble_holdout": lambda v: v is None or _is_number(v),
    "era_step": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
    "main_target": lambda v: isinstance(v, str) and v.startswith("target"),
    "files": lambda v: _is_table(v, _is_file_record),
    "previous": lambda v: v is None or (isinstance(v, str) and is_folder_name(v)),
    "in_use_since": lambda v: isinstance(v, str),
}


def shape_problem(
    raw: dict[str, Any], fields: Iterable[dataclasses.Field[Any]], bundle_format: int
) -> str | None:
    """What makes a manifest's fields unusable (None: nothing): a field missing (of
    ``fields``, the manifest's), unknown or of the wrong type, not one weight (and, when
    recorded, one model file) per member, or a bundle folder named (or not) against its
    format (``bundle_format``: the one with folders)."""
    known = {f.name: f for f in fields}
    no_default = dataclasses.MISSING
    required = [n for n, f in known.items() if no_default is f.default is f.default_factory]
    missing = [n for n in required if n not in raw]
    if missing:
        return f"it lacks {', '.join(missing)}"
    unknown = [k for k in raw if k not in known]
    if unknown:
        return f"{', '.join(unknown)}: no such field (written by a newer numerpilot?)"
    wrong = [k for k, check in _FIELD_CHECKS.items() if k in raw and not check(raw[k])]
    if wrong:
        return f"{', '.join(wrong)}: not of the right type"
    members = len(raw["targets"])
    if len(raw["weights"]) != members:
        weights = len(raw["weights"])
        return f"{weights} weight{'s' * (weights != 1)} for {members} members (targets)"
    if raw.get("files") and set(raw["files"]) != set(raw["targets"]):
        return "files does not name each member (targets) once"
    if (raw.get("format") == bundle_format) != bool(raw.get("bundle")):
        return "bundle does not fit its format"
    return None
