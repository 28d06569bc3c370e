"""Reading what ``numerpilot score`` scores: predictions, data, meta model and benchmarks.

Everything is aligned on the data file's rows (:mod:`numerpilot.scoring.align`): (n,)
arrays with NaN where a file has no value for an id. Errors are
:class:`~numerpilot.errors.DataError` with a next step.

Parquet files are read with pyarrow, only the columns needed, and ids stay arrow strings,
matched on their bytes (:mod:`numerpilot.scoring.ids`), never as Python strings. The data
file's ids must be unique; files of one dataset list the same ids in the same order, and
then there is nothing to match and nothing more to check for duplicates (each data row has
exactly one value).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from numerpilot.data import layout
from numerpilot.data.catalog import feature_set
from numerpilot.data.eras import era_labels
from numerpilot.data.load import check_column_names, load_era_data, open_parquet
from numerpilot.data.values import check_feature_column
from numerpilot.errors import DataError, UsageError
from numerpilot.io import check_plain
from numerpilot.kernel.eras import EraIndex
from numerpilot.scoring.align import AllIds, align
from numerpilot.scoring.ids import arrow_ids, repeated

_NOT_PREDICTIONS = {layout.ID, layout.ERA, layout.DATA_TYPE}
#: Columns of a data file (validation.parquet): features and targets, never a model's output.
_DATA_COLUMN = re.compile(r"feature_.*|target(_.*)?")
#: pandas' name for a CSV column under an empty header: the row numbers ``to_csv`` wrote.
_UNNAMED = re.compile(r"Unnamed: \d+")


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


def _check_file(path: Path) -> None:
    """Refuse a file that does not exist, is empty (0 bytes) or is compressed."""
    if not path.exists():
        raise DataError(f"{path} does not exist; check the path.")
    check_plain(path, "numerpilot", "pass the plain file")


def _check_rows(path: Path, rows: int) -> None:
    if rows == 0:
        raise DataError(f"{path.name} has no rows; check that it was written completely.")


def _id_column(path: Path, names: list[str]) -> str:
    """The id column of a file's column ``names`` (for parquet, also the index pandas wrote);
    a column that differs from ``id`` only by case or spaces is named in the error."""
    if layout.ID in names:
        return layout.ID
    near = [n for n in names if str(n).strip().lower() == layout.ID]
    if near:
        raise DataError(f"{path.name} has {str(near[0])!r} but no '{layout.ID}' column; column "
                        f"names are case-sensitive: rename it to '{layout.ID}'.")  # fmt: skip
    columns = [n for n in names if not _is_pandas_index(str(n))]
    shown = ", ".join(repr(str(n)) for n in columns[:6]) + (" …" if len(columns) > 6 else "")
    if len(columns) < len(names):  # pandas wrote an index without a name
        raise DataError(f"{path.name} has no '{layout.ID}' column, and an index without a "
                        f"name (columns: {shown or 'none'}); if the index holds the row ids, "
                        f"name it '{layout.ID}' (frame.index.name = '{layout.ID}') and write "
                        "the file again.")  # fmt: skip
    raise DataError(f"{path.name} has no '{layout.ID}' column or index (columns: "
                    f"{shown or 'none'}); the row ids Numerai uses must be in a column "
                    f"named '{layout.ID}': rename the column that holds them, or add "
                    "one.")  # fmt: skip


def _is_pandas_index(name: str) -> bool:
    """Whether a column is an index pandas wrote, not data: a parquet file's unnamed index
    (``__index_level_0__``) or a CSV's row numbers under an empty header (``Unnamed: 0``)."""
    return name.startswith("__index_level_") or _UNNAMED.fullmatch(name) is not None


def _read_parquet(path: Path, columns: list[str] | None = None) -> pa.Table:
    """``columns`` (all when None) of a parquet file; unreadable files are a DataError."""
    _read_schema(path)  # exists, and its column names are unique
    try:
        return pq.read_table(path, columns=columns)
    except Exception as error:  # pyarrow raises many unrelated types
        raise DataError(f"{path} could not be read ({' '.join(str(error).split())}).") from None


def _read_schema(path: Path) -> pa.Schema:
    """The schema of a parquet file whose column names are unique."""
    _check_file(path)
    try:
        schema = pq.read_schema(path)
    except Exception as error:  # pyarrow raises many unrelated types
        raise DataError(f"{path} could not be read ({' '.join(str(error).split())}).") from None
    check_column_names(path, schema.names)
    return schema


def _check_unique(path: Path, ids: pa.Array) -> None:
    """Refuse large_string ``ids`` that repeat, saying how many and naming one."""
    found = repeated(ids)
    if found is not None:
        count, example = found
        ids = "1 id that repeats" if count == 1 else f"{count} ids that repeat"
        raise DataError(f"{path.name} has {ids} (e.g. {example}); keep one row per id.")


def _frame(path: Path, table: pa.Table, id_col: str, like: pa.Array | None) -> pd.DataFrame:
    """``table`` as a DataFrame indexed by its (unique) ids, which stay arrow strings.

    Ids identical to ``like`` (the data file's, same order) are not checked for
    duplicates: row i of the file is row i of the data, whatever the ids say."""
    _check_rows(path, table.num_rows)
    ids = table.column(id_col).combine_chunks()
    if not pa.types.is_large_string(ids.type):
        ids = ids.cast(pa.large_string())
    if not (like is not None and ids.equals(like)):
        _check_unique(path, ids)
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
    _check_file(path)
    if path.suffix.lower() != ".csv":
        raise DataError(f"{path.name}: unknown file type; use .parquet or .csv.")
    _check_csv_header(path)
    try:  # ids are text, as in Numerai's files: "000123" stays "000123"
        frame = pd.read_csv(path, dtype={layout.ID: str})
    except Exception as error:  # pandas raises many unrelated types
        raise DataError(f"{path} could not be read ({error}).") from None
    id_col = _id_column(path, [str(c) for c in frame.columns])
    frame = frame.drop(columns=[c for c in frame.columns if _is_pandas_index(str(c))])
    frame = frame.set_index(id_col)
    _check_rows(path, len(frame))
    frame.index = frame.index.astype(str)
    if frame.index.has_duplicates:
        _check_unique(path, arrow_ids(frame.index))
    return frame


def is_data_column(name: str) -> bool:
    """Whether a column is one of a data file's features or targets (``feature_…``,
    ``target``, ``target_…``), which no file scores as a model's predictions."""
    return _DATA_COLUMN.fullmatch(name) is not None


def _check_csv_header(path: Path) -> None:
    """Refuse a CSV whose header names a column twice: pandas would read the second
    ``prediction`` as ``prediction.1`` and score it (or ignore a second ``target``)."""
    try:
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as file:
            header = next(csv.reader(file), [])
    except (OSError, csv.Error) as error:
        raise DataError(f"{path} could not be read ({error}).") from None
    names = [name for name in header if name.strip()]  # empty: pandas' row numbers
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise DataError(f"{path.name} names the column(s) {', '.join(twice[:3])} more than "
                        "once in its header; give every column a name of its own.")  # fmt: skip


def read_predictions(path: Path, like: pa.Array | None = None) -> pd.DataFrame:
    """The numeric prediction columns of ``path`` (id index, float64): not ``era``,
    ``data_type``, features or targets (of a validation file with a prediction column
    added, only that column is read and scored); ``like``: the data file's ids, when known."""
    if _is_parquet(path):
        schema = _read_schema(path)
        table = _read_parquet(path, [n for n in schema.names if not is_data_column(n)])
        frame = _frame(path, table, _id_column(path, table.column_names), like)
    else:
        frame = read_table(path, like)
        frame = frame.drop(columns=[c for c in frame.columns if is_data_column(str(c))])
    cols = [
        c
        for c in frame.columns
        if c not in _NOT_PREDICTIONS and pd.api.types.is_numeric_dtype(frame[c])
    ]
    for c in frame.columns:
        if c not in _NOT_PREDICTIONS and c not in cols:
            _refuse_numbers_with_text(path, frame[c])
    _refuse_empty_columns(path, frame[cols])
    if not cols:
        data = data_columns(path)
        if data:
            raise DataError(f"{path.name} holds features and targets ({_listed(data, 3)}) "
                            "but no prediction column: it is a data file, not predictions. "
                            "Give the file of your model's predictions (id and one or more "
                            "prediction columns) as PRED.")  # fmt: skip
        raise DataError(f"{path.name} has no numeric prediction column besides "
                        f"{', '.join(sorted(_NOT_PREDICTIONS))}.")  # fmt: skip
    return frame[cols].astype(np.float64)


def _refuse_empty_columns(path: Path, frame: pd.DataFrame) -> None:
    """Refuse a prediction column without a single value in the file (an empty column of a
    spreadsheet export), which would be called all NaN for want of matching ids."""
    empty = [repr(str(c)) for c in frame.columns if frame[c].isna().all()]
    if empty:
        raise DataError(f"column(s) {_listed(empty, 3)} of {path.name} hold no value in any "
                        "row, so there is nothing to score; remove them from the file (or "
                        "fill them) and score again.")  # fmt: skip


def _refuse_numbers_with_text(path: Path, column: pd.Series) -> None:
    """Refuse a column of numbers with a few text cells (a CSV reads it as text, which
    would leave the column out of the scores unsaid), naming the first such cell, and a
    column of fractions stored as text (a parquet's strings). A column under 90 % numbers,
    or of whole numbers only, is text (names, tickers such as SEDOLs, some all digits): kept
    out."""
    known = column.dropna()
    numbers = pd.to_numeric(known, errors="coerce")
    bad = numbers.isna()
    if not bad.any() and (numbers % 1 != 0).any():  # a parquet column of "0.52", "0.47", ...
        raise DataError(f"column '{column.name}' of {path.name} holds numbers stored as text, "
                        "so it cannot be scored; store it as numbers (e.g. pandas' df["
                        f"'{column.name}'].astype(float)) and write the file again.")  # fmt: skip
    if not bad.any() or bad.mean() > 0.1:
        return
    first = int(np.argmax(bad.to_numpy()))
    raise DataError(f"column '{column.name}' of {path.name} holds numbers but also text "
                    f"({known.iloc[first]!r} for id {known.index[first]}, {int(bad.sum())} "
                    "cell(s) in all), so it cannot be scored; fix those cells, or leave them "
                    "empty.")  # fmt: skip


def data_columns(path: Path) -> list[str]:
    """The feature and target columns (see :func:`is_data_column`) of a parquet or CSV
    file, from its schema or header alone."""
    return [n for n in _column_names(path) if is_data_column(n)]


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
    names = [c for c in _column_names(data) if c.startswith("feature_")]
    if not names:
        raise DataError(f"{data.name} has no feature_ columns to neutralize against.")
    return names


def _is_csv(path: Path) -> bool:
    return path.suffix.lower() == ".csv"


def _column_names(path: Path) -> list[str]:
    """The column names of a data file (CSV: its header; otherwise parquet)."""
    if not _is_csv(path):
        return list(_read_schema(path).names)
    _check_file(path)
    _check_csv_header(path)
    try:
        return [str(c) for c in pd.read_csv(path, nrows=0).columns]
    except Exception as error:  # pandas raises many unrelated types
        raise DataError(f"{path} could not be read ({error}).") from None


def _check_target_kind(path: Path, target: str, numeric: dict[str, bool]) -> None:
    """Refuse a ``target`` column that holds no numbers (``numeric``: column -> whether it
    holds numbers), suggesting the file's numeric target columns."""
    if numeric[target]:
        return
    targets = [c for c, is_number in numeric.items() if is_number and c.startswith("target")]
    shown = ", ".join(targets[:3]) + (" …" if len(targets) > 3 else "")
    example = f" (e.g. {shown})" if targets else ""
    raise DataError(f"{path.name}: column '{target}' is not numeric, so it cannot be the "
                    f"target; choose a target column with --target COL{example}.")  # fmt: skip


def _check_feature_kinds(path: Path, features: list[str], numeric: dict[str, bool]) -> None:
    """Refuse a feature that holds no numbers (``numeric``: column -> whether it does; a
    feature missing from it is reported where the columns are read)."""
    for name in features:
        if not numeric.get(name, True):
            raise DataError(f"{path.name}: feature {name} is not numeric; numerpilot expects "
                            "Numerai's features, whole numbers 0..4.")  # fmt: skip


def read_data(path: Path, target: str, features: list[str]) -> ScoringData:
    """Ids, eras, ``target`` and ``features`` of a Numerai-style parquet or CSV file
    whose ids are unique."""
    if _is_csv(path):
        frame = read_table(path)
        missing = [c for c in [layout.ERA, target, *features] if c not in frame.columns]
        if missing:
            raise DataError(f"{path.name} lacks column(s) {', '.join(missing[:3])}.")
        _check_target_kind(
            path, target, {c: pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns}
        )
        _check_feature_kinds(
            path, features, {c: pd.api.types.is_numeric_dtype(frame[c]) for c in features}
        )
        for name in features:
            check_feature_column(frame[name].to_numpy(), name, path)
        return ScoringData(
            arrow_ids(frame.index),
            era_labels(frame[layout.ERA].to_numpy()),
            frame[target].to_numpy(dtype=np.float64),
            frame[features].to_numpy(dtype=np.int8) if features else np.zeros((len(frame), 0)),
            features,
        )
    _check_file(path)
    parquet = open_parquet(path)
    _check_rows(path, parquet.metadata.num_rows)
    schema = parquet.schema_arrow
    if layout.ERA not in schema.names:
        raise DataError(f"{path.name} has no '{layout.ERA}' column; scoring is per era.")
    if target not in schema.names:
        raise DataError(f"{path.name} has no target column '{target}'; pick one with --target.")
    kinds = {f.name: pa.types.is_integer(f.type) or pa.types.is_floating(f.type) for f in schema}
    _check_target_kind(path, target, kinds)
    _check_feature_kinds(path, features, kinds)
    loaded = load_era_data(path, features, [target], feature_fix="Check --features.")
    assert loaded.id_array is not None  # load_era_data always keeps it
    _check_unique(path, loaded.id_array)
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


def _is_numeric(kind: pa.DataType) -> bool:
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind)
                or pa.types.is_boolean(kind) or pa.types.is_decimal(kind))  # fmt: skip


def _listed(names: list[str], most: int) -> str:
    """The first ``most`` of ``names``, comma-separated, and how many more there are."""
    more = len(names) - most
    return ", ".join(names[:most]) + (f" … ({more} more)" if more > 0 else "")


def _model_column_name(
    path: Path, column: str | None, numeric: dict[str, bool], what: str, option: str | None
) -> str:
    """``column``, or the one model column of a file whose columns are ``numeric``'s keys;
    ``option`` (e.g. ``--meta-model-col``) is how the user names the column."""
    if column is None:
        candidates = [layout.META_MODEL_COLUMN] if layout.META_MODEL_COLUMN in numeric else [
            c for c, is_number in numeric.items()
            if c not in _NOT_PREDICTIONS and is_number and not is_data_column(str(c))
        ]  # fmt: skip
        data = [str(c) for c, is_number in numeric.items() if is_number and is_data_column(str(c))]
        if not candidates and data:
            raise DataError(_data_file_as_model(path, data, what, option))
        if not candidates:
            raise DataError(f"{path.name} has no numeric column to use as the {what}; "
                            f"columns: {_listed(list(map(str, numeric)), 6)}.")  # fmt: skip
        if len(candidates) > 1:
            shown = _listed(candidates, 6)
            how = f"name it with {option} COL" if option else "name the column"
            raise UsageError(f"{path.name}: cannot tell which column is the {what}; {how} "
                             f"(model columns: {shown}).")  # fmt: skip
        column = candidates[0]
    if column not in numeric:
        _refuse_missing_column(path, column, numeric, what)
    if not numeric[column]:
        models = [
            str(c) for c, is_number in numeric.items() if is_number and c not in _NOT_PREDICTIONS
        ]
        choice = f"choose one of: {_listed(models, 8)}" if models else "it has none"
        raise DataError(
            f"column '{column}' of {path.name} holds no numbers, so it is no model's "
            f"predictions; {choice}."
        )
    return column


def _refuse_missing_column(path: Path, column: str, numeric: dict[str, bool], what: str) -> None:
    """Refuse a model ``column`` the file lacks: a data file (features and targets, no
    model column) is named as such, rather than offered by its feature columns."""
    names = list(map(str, numeric))
    data = [c for c in names if numeric[c] and is_data_column(c)]
    models = [c for c in names if numeric[c] and c not in _NOT_PREDICTIONS and c not in data]
    if data and not models:
        raise DataError(f"{path.name} has no column '{column}'; "
                        + _data_file_as_model(path, data, what, None))  # fmt: skip
    raise DataError(f"{path.name} has no column '{column}'; columns: {_listed(names, 8)}.")


def _data_file_as_model(path: Path, data: list[str], what: str, option: str | None) -> str:
    """The refusal of a data file (features and targets, no model column) given as the
    file of the ``what`` (meta model or benchmark)."""
    expected = (
        "meta_model.parquet" if what == "meta model" else "validation_benchmark_models.parquet"
    )
    how = f", or name a column with {option} COL" if option else ""
    return (f"{path.name} holds features and targets ({_listed(data, 3)}) but no model "
            f"column: it is a data file, not the {what}. Give the {what} file (such as "
            f"{expected}){how}.")  # fmt: skip


def parquet_model_column(
    path: Path, column: str | None, what: str, option: str | None = None
) -> tuple[str, str]:
    """The id column and the model column (see :func:`read_model_column`) of a parquet
    file, from its schema alone."""
    schema = _read_schema(path)
    id_col = _id_column(path, schema.names)
    numeric = {
        name: _is_numeric(schema.field(name).type)
        for name in schema.names
        if name != id_col and not name.startswith("__index_level_")
    }
    return id_col, _model_column_name(path, column, numeric, what, option)


def read_model_column(
    path: Path,
    column: str | None,
    ids: np.ndarray | pa.Array,
    what: str,
    *,
    option: str | None = None,
    data_ids: AllIds | None = None,
) -> np.ndarray:
    """One model column (the meta model or a benchmark) of ``path`` aligned on ``ids``.

    ``column`` None: the file's one model column (``option`` names the way to choose one
    when there are several); ``data_ids``: see :func:`align`. Of a parquet file only the
    id column and that column are read."""
    if _is_parquet(path):
        id_col, column = parquet_model_column(path, column, what, option)
        frame = _frame(path, _read_parquet(path, [id_col, column]), id_col, arrow_ids(ids))
    else:
        frame = read_table(path)
        numeric = {c: pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns}
        for name in [column] if column in numeric else [c for c in numeric if c != layout.ERA]:
            if not numeric[name]:
                _refuse_numbers_with_text(path, frame[name])
        column = _model_column_name(path, column, numeric, what, option)
    return align(frame[column], ids, what, data_ids)
