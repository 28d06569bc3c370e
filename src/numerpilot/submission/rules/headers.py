"""What to change in a submission's header row that breaks Numerai's rules.

numerai-tools only says which headers it accepts; these hints name what the file has
instead: another separator, a written pandas index, a misspelt or extra column, the
columns in the wrong order. They never change a decision, only its message.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from numerpilot.submission.rules.universe import KINDS, OPTIONAL

#: Separators of files saved by spreadsheets in some locales, and what to call them.
SEPARATORS = {";": "semicolons", "\t": "tabs", "|": "'|' characters"}
#: Names pandas gives an index written into a file.
INDEX_NAMES = ("", "index", "level_0", "__index_level_0__")


def header_hint(frame: pd.DataFrame, tournament: str) -> str:
    """``"; <what to change>"`` for headers the tournament refuses ("" when none fits)."""
    ids, values = KINDS[tournament]
    optional = OPTIONAL.get(tournament, ())
    columns = [str(c) for c in frame.columns]
    hints = (
        _separated(columns),
        _index(frame, columns, ids),
        _spelling(columns, [*ids, *values, *optional]),
        _layout(columns, ids, values, optional),
    )
    return next((f"; {hint}" for hint in hints if hint), "")


def _separated(columns: list[str]) -> str:
    """A CSV separated by something else than commas reads as one column."""
    if len(columns) != 1:
        return ""
    for sep, name in SEPARATORS.items():
        if sep in columns[0]:
            return (f"the file is separated by {name}, so its header reads as one column; "
                    "Numerai reads comma-separated CSV: save it with ',' between columns and "
                    "'.' as the decimal point")  # fmt: skip
    return ""


def _index(frame: pd.DataFrame, columns: list[str], ids: Sequence[str]) -> str:
    """A pandas index written as a nameless column, or ids kept in a parquet index."""
    unnamed = [c for c in columns if c.startswith("Unnamed: ") or c in INDEX_NAMES]
    if unnamed:
        return (f"the column {unnamed[0]!r} is the row index pandas wrote into the file: "
                "write it with to_csv(path, index=False)")  # fmt: skip
    in_index = not isinstance(frame.index, pd.RangeIndex) and frame.index.name is None
    if in_index and not any(c in ids for c in columns):
        return (f"the ids are the parquet file's unnamed index, not a column: write them as "
                f"one, e.g. df.rename_axis({ids[-1]!r}).reset_index().to_parquet(path, "
                "index=False)")  # fmt: skip
    return ""


def _spelling(columns: list[str], names: list[str]) -> str:
    """A column that is an accepted name once case and spaces are ignored."""
    for column in columns:
        fixed = "_".join(column.lower().split())
        if fixed != column and fixed in names:
            return f"column names are exact: rename {column!r} to {fixed!r}"
    return ""


def _layout(
    columns: list[str], ids: Sequence[str], values: Sequence[str], optional: Sequence[str]
) -> str:
    """Extra, missing, doubled or swapped id and value columns."""
    rest = [c for c in columns if c not in optional]
    id_cols = [c for c in rest if c in ids]
    value_cols = [c for c in rest if c in values]
    other = [c for c in rest if c not in ids and c not in values]
    either = " or ".join(repr(v) for v in values)
    dates = [c for c in columns if c in optional and c != "data_type"]
    if len(id_cols) > 1 or len(value_cols) > 1 or len(dates) > 1:
        both = id_cols if len(id_cols) > 1 else value_cols if len(value_cols) > 1 else dates
        return f"keep only one of the columns {', '.join(map(repr, both))}"
    if id_cols and value_cols and other:
        date = " or ".join(o for o in optional if o != "data_type")
        holds = f", its value column and an optional {date} column" if date else ""
        holds = holds or " and its value column only"
        return (f"remove the column{'s' * (len(other) > 1)} {', '.join(map(repr, other))} "
                f"(a file holds its id column{holds})")  # fmt: skip
    if id_cols and value_cols and rest.index(id_cols[0]) > rest.index(value_cols[0]):
        return f"put the id column first: {id_cols[0]!r}, then {value_cols[0]!r}"
    if id_cols and not value_cols:
        if len(other) == 1:
            return f"name the value column {either}, not {other[0]!r}"
        return f"add a value column ({either}) of numbers within [0, 1]"
    if value_cols and not id_cols and len(other) == 1:
        return f"name the id column one of {', '.join(map(repr, ids))}, not {other[0]!r}"
    return ""
