"""Is a saved model file whole? Each file of a bundle is checked before LightGBM parses it,
since LightGBM's C++ library aborts the whole process on some texts cut short.

A bundle records each model file's SHA-256 and size (:func:`file_record`); a file of a bundle
written before those were recorded is checked for a whole end instead.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

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
            return data, (f"{len(data):,} bytes where {saved['bytes']:,} were saved: cut "
                          "short or changed")  # fmt: skip
        if hashlib.sha256(data).hexdigest() != saved["sha256"]:
            return data, "its content is not what was saved (another SHA-256)"
        return data, None
    return data, unsaved_problem(data)


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
    return lightgbm_problem(text)


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
