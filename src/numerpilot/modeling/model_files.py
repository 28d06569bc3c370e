"""Is a saved model file whole? Each file of a bundle is checked before LightGBM parses it,
since LightGBM's C++ library aborts the whole process on some texts cut short.

A bundle records each model file's SHA-256 and size (:func:`file_record`); a file of a bundle
written before those were recorded is checked for a whole end instead, for trees where its
header's ``tree_sizes`` puts them, and parsed once without ``tree_sizes`` (LightGBM then
parses tree by tree and raises on a changed tree, where it aborts when it parses them in
parallel).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import lightgbm as lgb

from numerpilot.modeling.lgbm import fatal_lines_hidden


def _bytes(n: int) -> str:
    return f"{n:,} byte{'s' * (n != 1)}"


#: The problems of a model file that ``models list`` calls "missing or empty".
MISSING, EMPTY = "missing", "empty"


def file_record(data: bytes) -> dict[str, Any]:
    """What a bundle's manifest records of a model file's ``data``: its SHA-256 and size."""
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def check_model_file(path: Path, saved: dict[str, Any] | None) -> tuple[bytes, str | None]:
    """A model file's bytes and what is wrong with them (None: nothing): checked against
    the SHA-256 and size it was ``saved`` with, or, without those, for its end."""
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return b"", MISSING
    if not data:
        return data, EMPTY
    if saved:
        if len(data) != saved["bytes"]:
            return data, (f"{_bytes(len(data))} where {saved['bytes']:,} were saved: cut "
                          "short or changed")  # fmt: skip
        if hashlib.sha256(data).hexdigest() != saved["sha256"]:
            return data, "its content is not what was saved (another SHA-256)"
        return data, None
    return data, _checked_problem(data)


#: What :func:`unsaved_problem` found, by the SHA-256 of the bytes it checked: a file without
#: a recorded SHA-256 is parsed in full once per process, not at each load (a daemon's every
#: round, or a retrain's validation and then its publish), and a changed one again.
_CHECKED: dict[str, str | None] = {}
_CHECKED_MAX = 1024


def _checked_problem(data: bytes) -> str | None:
    """:func:`unsaved_problem` of ``data``, remembered for the same bytes (a SHA-256 costs a
    few percent of the checks it spares)."""
    key = hashlib.sha256(data).hexdigest()
    if key not in _CHECKED:
        if len(_CHECKED) >= _CHECKED_MAX:
            _CHECKED.clear()
        _CHECKED[key] = unsaved_problem(data)
    return _CHECKED[key]


def unsaved_problem(data: bytes) -> str | None:
    """What shows a model file without a recorded SHA-256 to be cut short (None: it looks
    whole): JSON (XGBoost, linear) that does not parse, or a LightGBM text that fails
    :func:`lightgbm_problem`."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "it is not UTF-8 text"
    if text.lstrip().startswith("{"):
        try:
            json.loads(text)
        except ValueError:
            return "its JSON is not complete: cut short?"
        return None
    return lightgbm_problem(text) or tree_sizes_problem(text) or trial_parse_problem(text)


def feature_problem(text: str, features: list[str]) -> str | None:
    """How the model ``text`` disagrees with the ``features`` its manifest names (None: it
    fits): another number of input features, or (LightGBM) other names or another order.
    A manifest edited by hand, or model files of another bundle, would otherwise reach
    LightGBM (an error at predict) or a model-upload pickle (failing in Numerai's runtime)."""
    count, names = _model_inputs(text)
    if count is not None and count != len(features):
        return f"the model takes {count} features, the manifest names {len(features)}"
    expected = [re.sub(r"\s", "_", name) for name in features]  # as LightGBM stores them
    if names and not _default_names(names) and names != expected:
        pairs = enumerate(zip(names, expected, strict=False))
        at = next((i for i, (a, b) in pairs if a != b), None)
        if at is None:  # as many names as the manifest's, but not as many as features
            return f"the model names {len(names)} features, the manifest {len(features)}"
        return (f"feature {at + 1} of the model is {names[at]!r}, of the manifest "
                f"{expected[at]!r}")  # fmt: skip
    return None


_XGB_COUNT = re.compile(r'"num_feature"\s*:\s*"?(\d+)')


def _model_inputs(text: str) -> tuple[int | None, list[str]]:
    """The number of input features of a model text and their names ([] if unnamed): from a
    LightGBM header, an XGBoost JSON's ``num_feature``, or a linear member's coefficients."""
    if text.lstrip().startswith("{"):
        if '"learner"' in text[:200]:  # XGBoost: its parameters, not its trees
            found = _XGB_COUNT.search(text)
            return (int(found.group(1)) if found else None), []
        try:
            coef = json.loads(text).get("coef")
        except (ValueError, AttributeError):
            return None, []
        return (len(coef) if isinstance(coef, list) else None), []
    head = text[: text.find("\nTree=")] if "\nTree=" in text else text[:1_000_000]
    idx = re.search(r"^max_feature_idx=(\d+)$", head, re.MULTILINE)
    names = re.search(r"^feature_names=(.*)$", head, re.MULTILINE)
    return (int(idx.group(1)) + 1 if idx else None), (names.group(1).split() if names else [])


def _default_names(names: list[str]) -> bool:
    """LightGBM's names for features given without names: ``Column_0``, ``Column_1``, ..."""
    return names == [f"Column_{i}" for i in range(len(names))]


def lightgbm_problem(text: str) -> str | None:
    """A LightGBM text's trees must end with "end of trees" and be as many as its header's
    ``tree_sizes``; a parameters block must end, and so must the last line (what the
    Python package appends)."""
    head, end, rest = text.partition("\nend of trees\n")
    if not end:
        return "it ends before 'end of trees': cut short?"
    sizes = re.search(r"^tree_sizes=(.*)$", head, re.MULTILINE)
    trees = len(re.findall(r"^Tree=\d+$", head, re.MULTILINE))
    if sizes and len(sizes.group(1).split()) != trees:
        return f"it has {trees} trees where its header names {len(sizes.group(1).split())}"
    if "\nparameters:\n" not in rest:
        return None
    _, end, last = rest.partition("\nend of parameters\n")
    if not end:
        return "it ends inside its parameters: cut short?"
    if last.strip() and not is_pandas_line(last.strip()):
        return "its last line is cut short"
    return None


def is_pandas_line(line: str) -> bool:
    """The line LightGBM's Python package appends: ``pandas_categorical:`` and JSON."""
    name, colon, value = line.partition(":")
    try:
        json.loads(value)
    except ValueError:
        return False
    return name == "pandas_categorical" and bool(colon)


_TREE = re.compile(r"^Tree=\d+$", re.MULTILINE)


def tree_sizes_problem(text: str) -> str | None:
    """LightGBM parses the trees in parallel, each at the offset that its header's
    ``tree_sizes`` gives, and aborts the process when one is not there: each tree must have
    the size its header names (a text edited, or changed on disk, has others)."""
    sizes = re.search(r"^tree_sizes=(.*)$", text, re.MULTILINE)
    if not sizes:
        return None
    try:
        named = [int(size) for size in sizes.group(1).split()]
    except ValueError:
        return "its header's tree_sizes are not numbers"
    starts = [match.start() for match in _TREE.finditer(text)]
    ends = [*starts[1:], text.find("\nend of trees\n") + 1][: len(starts)]
    if [end - start for start, end in zip(starts, ends, strict=True)] != named:
        return "its trees are not of the sizes its header names: changed?"
    return None


def trial_parse_problem(text: str) -> str | None:
    """What LightGBM says of the text parsed tree by tree (None: it parses): without
    ``tree_sizes`` it raises on a tree it cannot read instead of aborting the process."""
    sequential = re.sub(r"^tree_sizes=.*\n", "", text, count=1, flags=re.MULTILINE)
    try:
        with fatal_lines_hidden():
            lgb.Booster(model_str=sequential)
    except lgb.basic.LightGBMError as error:
        said = " ".join(str(error).split()).split(" at /")[0]  # not LightGBM's source path
        return f"LightGBM cannot read it: {said[:120]}"
    return None
