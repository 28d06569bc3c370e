"""Era labels that sort in time order, and a parquet era column as codes into them."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from numerpilot.errors import DataError

_NUMBERED = re.compile(r"(\D*)(\d+)")
#: A date with day and month before the year ("10/09/2020", "9.10.20").
_LOCAL_DATE = re.compile(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}")


def era_labels(values: np.ndarray) -> np.ndarray:
    """Era labels (E,) as str that sort in time order: whole numbers (an era column stored
    as numbers, or a CSV's "0001" read as 1) zero-padded to at least 4 digits, as Numerai
    writes them; numbered text with one prefix ("era1" ... "era20") the same way after
    the prefix ("era0001"), so that era 10 does not sort before era 2; ISO dates as
    YYYY-MM-DD; anything else as it is (eras written in two ways, or dates written
    otherwise, are refused: they have no order as text). Spaces around a label are dropped
    ("10 " is era 10, not text that sorts before "2 ")."""
    if not len(values):
        return values.astype(str)
    if values.dtype.kind == "f":  # a column with a gap, or read from a CSV: 1.0, 2.0, ...
        values = _whole(values)
    if values.dtype.kind in "iu":
        return np.char.zfill(values.astype(str), max(4, len(str(int(values.max())))))
    labels = values.astype(str)
    codes, uniques = pd.factorize(labels)  # a label per row: the regex runs per distinct one
    stripped = np.char.strip(uniques.astype(str))
    if (stripped != uniques).any():  # "1 ", "2 ", "10 " (a padded export) sorted as text
        codes, uniques = pd.factorize(stripped[codes])
        labels = uniques[codes]
    parts = [_NUMBERED.fullmatch(label) for label in uniques]
    prefixes = {m.group(1) if m else None for m in parts}
    if None not in prefixes and len(prefixes) > 1:  # "era5" beside "0025": no one order
        shown = ", ".join(f"'{m.group(0)}'" for m in parts[:3] if m)
        raise DataError(f"the era column writes eras in several ways ({shown}, ...); write "
                        "every era the same way (0001, 0002, ...).")  # fmt: skip
    if None in prefixes:
        return _dates_in_order(uniques, codes, labels)
    digits = [m.group(2) for m in parts if m]
    if len({len(d) for d in digits}) == 1:  # "0001" ... "0574": already in time order
        return labels
    width = max(4, *(len(d) for d in digits))
    (prefix,) = prefixes
    return np.array([f"{prefix}{d.zfill(width)}" for d in digits])[codes]


def _dates_in_order(uniques: np.ndarray, codes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Labels (n,) that are ISO dates, padded or not ("2020-1-3"), as YYYY-MM-DD (with the
    time where one is not midnight), which sort in time order; dates written otherwise
    ("10/09/2020": which of day and month comes first cannot be told; "03 Jan 2020") are
    refused; labels that are not dates are returned as they are."""
    try:
        days = pd.to_datetime(pd.Series(uniques), format="ISO8601")
    except (ValueError, TypeError):
        days = None
    if days is not None:
        timed = bool((days != days.dt.normalize()).any())
        out = days.dt.strftime("%Y-%m-%dT%H:%M:%S" if timed else "%Y-%m-%d").to_numpy(str)
        return np.asarray(out[codes])
    found = next((label for label in uniques if _LOCAL_DATE.fullmatch(str(label))), None)
    if found is None:
        try:
            pd.to_datetime(pd.Series(uniques), format="mixed")
        except (ValueError, TypeError, OverflowError):
            return labels
        found = uniques[0]
    raise DataError(f"the era column holds dates such as '{found}', which do not sort in time "
                    "order as text; write them as YYYY-MM-DD (or number the eras 0001, 0002, "
                    "...).")  # fmt: skip


def _whole(values: np.ndarray) -> np.ndarray:
    """Float eras as int64 (their text, "1.0" ... "10.0", would sort 10 before 2)."""
    bad = ~np.isfinite(values) | (values != np.round(values))
    if bad.any():
        example = values[bad][0]
        what = "rows without an era" if np.isnan(example) else f"an era of {example:g}"
        raise DataError(f"the era column holds {what}: eras are whole numbers or text "
                        "('0001'), as Numerai writes them. Fix the era column.")  # fmt: skip
    return values.astype(np.int64)


def era_numbers(labels: np.ndarray) -> np.ndarray:
    """(E,) int64 era labels on the weekly time line, for distances in eras (see
    :func:`era_line`); labels that are on none count by position. So a purge means the
    same with every ``data.era_step``."""
    line = era_line(labels)
    return np.arange(len(labels), dtype=np.int64) if line is None else line


def era_line(labels: np.ndarray) -> np.ndarray | None:
    """(E,) int64 era labels on the weekly time line: dates as weeks since the first
    (:func:`_weeks`), numbered labels by their number ("0041" -> 41, "era0040" -> 40, also
    beside each other: two files may write eras differently); None when the labels are
    neither all dates nor all numbered."""
    labels = np.asarray(labels).astype(str)
    weeks = _weeks(labels)
    if weeks is not None:
        return weeks
    parts = [_NUMBERED.fullmatch(label) for label in labels]
    if all(parts):
        return np.array([int(m.group(2)) for m in parts if m], dtype=np.int64)
    return None


def _weeks(labels: np.ndarray) -> np.ndarray | None:
    """Weeks since the first of (E,) str labels that are all dates ("2020-01-03", or
    "20200103" as Signals writes them); None for anything else (Classic's "0001")."""
    digits = [label.isdigit() for label in labels]
    if not len(labels) or (all(digits) and any(len(label) != 8 for label in labels)):
        return None
    try:
        days = pd.to_datetime(
            pd.Series(labels), format="%Y%m%d" if all(digits) else "ISO8601"
        ).to_numpy("datetime64[D]")
    except (ValueError, TypeError):
        return None
    weeks: np.ndarray = (days - days.min()).astype(np.int64) // 7
    return weeks


def era_codes(column: pa.ChunkedArray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(n,) int32 codes into (E,) sorted str labels of an era column (any type).

    A column read as a dictionary (``open_parquet(read_dictionary=...)``) costs no string
    work per row: only its few labels are sorted.
    """
    if column.null_count:
        raise DataError(f"{name} has {column.null_count} rows without an era. "
                        "Re-download the data (or fix your own file).")  # fmt: skip
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column)
    if column.num_chunks > 1:  # each row group has a dictionary of its own
        column = pa.table({"era": column}).unify_dictionaries().column(0)
    if column.num_chunks == 0:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=str)
    try:
        labels = era_labels(np.asarray(column.chunk(0).dictionary.to_numpy(zero_copy_only=False)))
    except DataError as error:
        raise DataError(f"{name}: {error}") from None
    codes = np.concatenate(
        [np.asarray(c.indices.to_numpy(zero_copy_only=False)) for c in column.chunks]
    )
    unique, rank = np.unique(labels, return_inverse=True)  # labels may repeat after astype
    codes = rank.astype(np.int32)[codes]
    used = np.bincount(codes, minlength=len(unique)) > 0
    if used.all():
        return codes, unique
    return (np.cumsum(used, dtype=np.int32) - 1)[codes], unique[used]
