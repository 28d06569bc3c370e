"""Reading what ``numerpilot score`` scores: predictions, data, meta model and benchmarks.

Everything is aligned on the data file's rows: (n,) arrays with NaN where a file has no
value for an id. Errors are :class:`~numerpilot.errors.DataError` with a next step.

Parquet files are read with pyarrow, only the columns needed, and ids stay arrow strings,
matched on their bytes (:mod:`numerpilot.scoring.ids`), never as Python strings. Files of
one dataset list the same ids in the same order; then there is nothing to match and
nothing to check for duplicates (each data row has exactly one value).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from numerpilot.data import layout
from numerpilot.data.catalog import feature_set
from numerpilot.data.eras import era_labels
from numerpilot.data.load import (
    check_column_names,
    check_feature_column,
    load_era_data,
    open_parquet,
)
from numerpilot.errors import DataError, UsageError
from numerpilot.kernel.eras import EraIndex
from numerpilot.scoring.ids import has_duplicates, index_in

log = logging.getLogger(__name__)

_NOT_PREDICTIONS = {layout.ID, layout.ERA, layout.DATA_TYPE}


@dataclass(frozen=True)
class ScoringData:
    """Rows of the data file: ids (n,) large_string, eras (n,) str, target (n,) float64
    with NaN, features (n, f) int8 (f may be 0) with their names."""

    ids: pa.Array
    eras: np.ndarray
    target: np.ndarray
    features: np.ndarray
    feature_names: list[str]


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in (".parquet", ".pq")


def _id_column(path: Path, names: list[str]) -> str:
    """The id column of a parquet file (a column, or the index pandas wrote)."""
    if layout.ID in names:
        return layout.ID
    raise DataError(f"{path.name} has no '{layout.ID}' column or index; "
                    "add the row ids Numerai uses.")  # fmt: skip


def _read_parquet(path: Path, columns: list[str] | None = None) -> pa.Table:
    """``columns`` (all when None) of a parquet file; unreadable files are a DataError."""
    _read_schema(path)  # exists, and its column names are unique
    try:
        return pq.read_table(path, columns=columns)
    except Exception as error:  # pyarrow raises many unrelated types
        raise DataError(f"{path} could not be read ({' '.join(str(error).split())}).") from None


def _read_schema(path: Path) -> pa.Schema:
    """The schema of a parquet file whose column names are unique."""
    if not path.exists():
        raise DataError(f"{path} does not exist; check the path.")
    try:
        schema = pq.read_schema(path)
    except Exception as error:  # pyarrow raises many unrelated types
        raise DataError(f"{path} could not be read ({' '.join(str(error).split())}).") from None
    check_column_names(path, schema.names)
    return schema


def _frame(path: Path, table: pa.Table, id_col: str, like: pa.Array | None) -> pd.DataFrame:
    """``table`` as a DataFrame indexed by its (unique) ids, which stay arrow strings.

    Ids identical to ``like`` (the data file's, same order) are not checked for
    duplicates: row i of the file is row i of the data, whatever the ids say."""
    ids = table.column(id_col).combine_chunks()
    if not pa.types.is_large_string(ids.type):
        ids = ids.cast(pa.large_string())
    if not (like is not None and ids.equals(like)) and has_duplicates(ids):
        raise DataError(f"{path.name} has duplicate ids; keep one row per id.")
    rest = table.drop_columns(
        [id_col, *(c for c in table.column_names if c.startswith("__index_level_"))]
    )
    # split_blocks: each column stays its own (zero-copy) block, not one consolidated copy.
    frame = (
        rest.to_pandas(ignore_metadata=True, split_blocks=True)
        if rest.num_columns
        else pd.DataFrame()
    )
    # Arrow-backed: no Python string per id (``positions`` matches them in arrow).
    frame.index = pd.Index(pd.arrays.ArrowExtensionArray(ids), name=layout.ID)
    return frame


def read_table(path: Path, like: pa.Array | None = None) -> pd.DataFrame:
    """A parquet or CSV file as a DataFrame indexed by ``id`` (index or column);
    ``like``: the data file's ids, when known (see :func:`_frame`)."""
    if _is_parquet(path):
        table = _read_parquet(path)
        return _frame(path, table, _id_column(path, table.column_names), like)
    if not path.exists():
        raise DataError(f"{path} does not exist; check the path.")
    if path.suffix.lower() != ".csv":
        raise DataError(f"{path.name}: unknown file type; use .parquet or .csv.")
    try:
        frame = pd.read_csv(path)
    except Exception as error:  # pandas raises many unrelated types
        raise DataError(f"{path} could not be read ({error}).") from None
    if layout.ID in frame.columns:
        frame = frame.set_index(layout.ID)
    elif frame.index.name != layout.ID:
        raise DataError(f"{path.name} has no '{layout.ID}' column or index; "
                        "add the row ids Numerai uses.")  # fmt: skip
    frame.index = frame.index.astype(str)
    if frame.index.has_duplicates:
        raise DataError(f"{path.name} has duplicate ids; keep one row per id.")
    return frame


def read_predictions(path: Path, like: pa.Array | None = None) -> pd.DataFrame:
    """The numeric prediction columns of ``path`` (id index, float64); ``like``: the
    data file's ids, when known."""
    frame = read_table(path, like)
    cols = [
        c
        for c in frame.columns
        if c not in _NOT_PREDICTIONS and pd.api.types.is_numeric_dtype(frame[c])
    ]
    if not cols:
        raise DataError(f"{path.name} has no numeric prediction column besides "
                        f"{', '.join(sorted(_NOT_PREDICTIONS))}.")  # fmt: skip
    return frame[cols].astype(np.float64)


def resolve_features(data: Path, name: str | None) -> list[str]:
    """Feature names for FNC: a set of the ``features.json`` beside ``data``; ``all``
    without a features.json means every ``feature_`` column of ``data``."""
    if name is None:
        return []
    if (data.parent / layout.FEATURES_JSON).exists():
        return feature_set(data.parent, name, "option --features")
    if name != "all":
        raise UsageError(f"--features {name}: there is no {layout.FEATURES_JSON} beside "
                         f"{data.name}; use --features all.")  # fmt: skip
    names = [c for c in pq.read_schema(data).names if c.startswith("feature_")]
    if not names:
        raise DataError(f"{data.name} has no feature_ columns to neutralize against.")
    return names


def read_data(path: Path, target: str, features: list[str]) -> ScoringData:
    """Ids, eras, ``target`` and ``features`` of a Numerai-style parquet file."""
    if path.suffix.lower() == ".csv":
        frame = read_table(path)
        missing = [c for c in [layout.ERA, target, *features] if c not in frame.columns]
        if missing:
            raise DataError(f"{path.name} lacks column(s) {', '.join(missing[:3])}.")
        for name in features:
            check_feature_column(frame[name].to_numpy(), name, path)
        return ScoringData(
            _arrow_ids(frame.index),
            era_labels(frame[layout.ERA].to_numpy()),
            frame[target].to_numpy(dtype=np.float64),
            frame[features].to_numpy(dtype=np.int8) if features else np.zeros((len(frame), 0)),
            features,
        )
    names = set(open_parquet(path).schema_arrow.names)
    if layout.ERA not in names:
        raise DataError(f"{path.name} has no '{layout.ERA}' column; scoring is per era.")
    if target not in names:
        raise DataError(f"{path.name} has no target column '{target}'; pick one with --target.")
    loaded = load_era_data(path, features, [target], feature_fix="Check --features.")
    assert loaded.id_array is not None  # load_era_data always keeps it
    return ScoringData(
        loaded.id_array,
        np.asarray(loaded.eras, dtype=str),
        loaded.targets[:, 0].astype(np.float64),
        loaded.features,
        features,
    )


def check_target(target: np.ndarray, index: EraIndex, name: str) -> None:
    """Refuse a target (n,) that no era can be scored on: constant, missing or not finite
    in every era (CORR needs at least two different known values in an era)."""
    grouped = index.take(np.where(np.isfinite(target), target, np.nan))
    if len(grouped):
        starts = index.starts[:-1]
        with np.errstate(invalid="ignore"):  # an era without a finite value: NaN, no warning
            if (np.fmax.reduceat(grouped, starts) > np.fmin.reduceat(grouped, starts)).any():
                return
    raise DataError(f"the target column '{name}' is constant or not finite in every era, so "
                    "no era can be scored; choose another target with --target COL.")  # fmt: skip


def _arrow_ids(ids: np.ndarray | pd.Index | pa.Array) -> pa.Array:
    """(n,) ids as one arrow large_string array (zero-copy for arrow ids)."""
    if isinstance(ids, pa.Array):
        array = ids
    else:
        array = pa.array(ids) if isinstance(ids, pd.Index) else pa.array(np.asarray(ids))
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array if pa.types.is_large_string(array.type) else array.cast(pa.large_string())


def positions(index: pd.Index, ids: np.ndarray | pa.Array) -> np.ndarray | None:
    """(n,) int64 row of each of ``ids`` in ``index`` (-1 where absent); None when
    ``index`` holds exactly ``ids`` in the same order (nothing to move)."""
    arrow = isinstance(index.dtype, pd.ArrowDtype) and pa.types.is_large_string(
        index.dtype.pyarrow_dtype
    )
    have, want = _arrow_ids(index if arrow else index.astype(str)), _arrow_ids(ids)
    return None if have.equals(want) else index_in(want, have)


def align(frame: pd.DataFrame | pd.Series, ids: np.ndarray | pa.Array, what: str) -> np.ndarray:
    """Values of ``frame`` for ``ids``: (n,) for a Series, (n, k) for k columns (Fortran
    order: the scorer reads column by column), NaN where absent; DataError if none overlap.
    """
    columns = [frame] if isinstance(frame, pd.Series) else [frame.iloc[:, j] for j in
                                                            range(frame.shape[1])]  # fmt: skip
    out = np.empty((len(columns), len(ids)))
    position = positions(frame.index, ids)
    if position is None:
        for row, column in zip(out, columns, strict=True):
            row[:] = column.to_numpy(dtype=np.float64)
    else:
        found = position >= 0
        if not found.any():
            raise DataError(f"no id of the {what} matches an id of the data file; "
                            "check that both come from the same dataset version.")  # fmt: skip
        extra = len(frame) - int(found.sum())
        if extra > 0:
            log.warning("%d ids of the %s are not in the data file and are ignored", extra, what)
        rows, source = np.flatnonzero(found), position[found]
        if len(rows) < len(ids):
            out.fill(np.nan)
        for row, column in zip(out, columns, strict=True):
            row[rows] = column.to_numpy(dtype=np.float64)[source]
    return out[0] if isinstance(frame, pd.Series) else out.T


def _is_numeric(kind: pa.DataType) -> bool:
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind)
                or pa.types.is_boolean(kind) or pa.types.is_decimal(kind))  # fmt: skip


def _model_column_name(path: Path, column: str | None, numeric: dict[str, bool], what: str) -> str:
    """``column``, or the one model column of a file whose columns are ``numeric``'s keys."""
    if column is None:
        candidates = [layout.META_MODEL_COLUMN] if layout.META_MODEL_COLUMN in numeric else [
            c for c, is_number in numeric.items() if c not in _NOT_PREDICTIONS and is_number
        ]  # fmt: skip
        if len(candidates) != 1:
            raise UsageError(f"{path.name}: cannot tell which column is the {what}; "
                             f"columns: {', '.join(list(map(str, numeric))[:6])}.")  # fmt: skip
        column = candidates[0]
    if column not in numeric:
        raise DataError(f"{path.name} has no column '{column}'; columns: "
                        f"{', '.join(list(map(str, numeric))[:8])}.")  # fmt: skip
    if not numeric[column]:
        models = [str(c) for c, is_number in numeric.items() if is_number]
        choice = f"choose one of: {', '.join(models[:8])}" if models else "it has none"
        raise DataError(
            f"column '{column}' of {path.name} holds no numbers, so it is no model's "
            f"predictions; {choice}."
        )
    return column


def read_model_column(
    path: Path, column: str | None, ids: np.ndarray | pa.Array, what: str
) -> np.ndarray:
    """One model column (the meta model or a benchmark) of ``path`` aligned on ``ids``.

    Of a parquet file only the id column and that column are read."""
    if _is_parquet(path):
        schema = _read_schema(path)
        id_col = _id_column(path, schema.names)
        numeric = {
            name: _is_numeric(schema.field(name).type)
            for name in schema.names
            if name != id_col and not name.startswith("__index_level_")
        }
        column = _model_column_name(path, column, numeric, what)
        frame = _frame(path, _read_parquet(path, [id_col, column]), id_col, _arrow_ids(ids))
    else:
        frame = read_table(path)
        numeric = {c: pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns}
        column = _model_column_name(path, column, numeric, what)
    return align(frame[column], ids, what)
