"""Reading what ``numerpilot score`` scores: predictions, data, meta model and benchmarks.

Everything is aligned on the data file's rows: (n,) arrays with NaN where a file has no
value for an id. Errors are :class:`~numerpilot.errors.DataError` with a next step.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from numerpilot.data import layout
from numerpilot.data.catalog import feature_set
from numerpilot.data.load import load_era_data, open_parquet
from numerpilot.errors import DataError, UsageError

log = logging.getLogger(__name__)

_NOT_PREDICTIONS = {layout.ID, layout.ERA, layout.DATA_TYPE}


@dataclass(frozen=True)
class ScoringData:
    """Rows of the data file: ids (n,), eras (n,), target (n,) float64 with NaN,
    features (n, f) int8 (f may be 0) with their names."""

    ids: np.ndarray
    eras: np.ndarray
    target: np.ndarray
    features: np.ndarray
    feature_names: list[str]


def read_table(path: Path) -> pd.DataFrame:
    """A parquet or CSV file as a DataFrame indexed by ``id`` (index or column)."""
    if not path.exists():
        raise DataError(f"{path} does not exist; check the path.")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path)
        elif suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            raise DataError(f"{path.name}: unknown file type; use .parquet or .csv.")
    except DataError:
        raise
    except Exception as error:  # pandas/pyarrow raise many unrelated types
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


def read_predictions(path: Path) -> pd.DataFrame:
    """The numeric prediction columns of ``path`` (id index, float64)."""
    frame = read_table(path)
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
        return feature_set(data.parent, name)
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
        return ScoringData(
            frame.index.to_numpy(dtype=str),
            frame[layout.ERA].astype(str).to_numpy(),
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
    return ScoringData(
        np.asarray(loaded.ids, dtype=str),
        np.asarray(loaded.eras, dtype=str),
        loaded.targets[:, 0].astype(np.float64),
        loaded.features,
        features,
    )


def align(frame: pd.DataFrame | pd.Series, ids: np.ndarray, what: str) -> np.ndarray:
    """Values of ``frame`` for ``ids`` (n,), NaN where absent; DataError if none overlap."""
    position = frame.index.get_indexer(pd.Index(ids))
    found = position >= 0
    if not found.any():
        raise DataError(f"no id of the {what} matches an id of the data file; "
                        "check that both come from the same dataset version.")  # fmt: skip
    extra = len(frame) - int(found.sum())
    if extra > 0:
        log.warning("%d ids of the %s are not in the data file and are ignored", extra, what)
    values = np.asarray(frame.to_numpy(dtype=np.float64))
    out = np.full((len(ids), *values.shape[1:]), np.nan)
    out[found] = values[position[found]]
    return out


def read_model_column(path: Path, column: str | None, ids: np.ndarray, what: str) -> np.ndarray:
    """One model column (the meta model or a benchmark) of ``path`` aligned on ``ids``."""
    frame = read_table(path)
    if column is None:
        candidates = [layout.META_MODEL_COLUMN] if layout.META_MODEL_COLUMN in frame else [
            c for c in frame.columns
            if c not in _NOT_PREDICTIONS and pd.api.types.is_numeric_dtype(frame[c])
        ]  # fmt: skip
        if len(candidates) != 1:
            raise UsageError(f"{path.name}: cannot tell which column is the {what}; "
                             f"columns: {', '.join(map(str, frame.columns[:6]))}.")  # fmt: skip
        column = candidates[0]
    if column not in frame.columns:
        raise DataError(f"{path.name} has no column '{column}'; columns: "
                        f"{', '.join(map(str, frame.columns[:8]))}.")  # fmt: skip
    return align(frame[column], ids, what)
