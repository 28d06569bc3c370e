"""Values of a model or predictions file on the data file's rows, matched by id."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from numerpilot.data import layout
from numerpilot.data.load import open_parquet
from numerpilot.errors import DataError
from numerpilot.scoring.ids import arrow_ids, index_in

log = logging.getLogger(__name__)


def positions(index: pd.Index, ids: np.ndarray | pa.Array) -> np.ndarray | None:
    """(n,) int64 row of each of ``ids`` in ``index`` (-1 where absent); None when
    ``index`` holds exactly ``ids`` in the same order (nothing to move)."""
    arrow = isinstance(index.dtype, pd.ArrowDtype) and pa.types.is_large_string(
        index.dtype.pyarrow_dtype
    )
    have, want = arrow_ids(index if arrow else index.astype(str)), arrow_ids(ids)
    return None if have.equals(want) else index_in(want, have)


#: Every id of the data file, read only when needed (see :func:`align`).
AllIds = Callable[[], pa.Array]


def file_ids(path: Path) -> pa.Array:
    """Every id of a parquet data file as large_string (row numbers when it has no id
    column, as :func:`~numerpilot.data.load.load_era_data` numbers them)."""
    pf = open_parquet(path)
    if layout.ID not in pf.schema_arrow.names:
        return pa.array(np.arange(pf.metadata.num_rows).astype(str), pa.large_string())
    return arrow_ids(pf.read(columns=[layout.ID]).column(0))


class NoCommonIdsError(DataError):
    """A file of model values (the meta model, a benchmark) shares no id with the data."""


def _unknown(index: pd.Index, found: np.ndarray, data_ids: AllIds | None) -> int:
    """How many ids of ``index`` are not in the data: those not ``found`` (bool, per row
    of ``index``) among the scored ids, less those in ``data_ids()`` (every id of the data
    file, when only some of its rows are scored)."""
    if data_ids is None:
        return int((~found).sum())
    rest = index[~found]
    arrow = isinstance(rest.dtype, pd.ArrowDtype)
    have = arrow_ids(rest if arrow else rest.astype(str))
    return int((index_in(have, data_ids()) < 0).sum())


def align(
    frame: pd.DataFrame | pd.Series,
    ids: np.ndarray | pa.Array,
    what: str,
    data_ids: AllIds | None = None,
) -> np.ndarray:
    """Values of ``frame`` for ``ids``: (n,) for a Series, (n, k) for k columns (Fortran
    order: the scorer reads column by column), NaN where absent; DataError if no id is in
    the data file (all NaN when its ids are only in rows that are not scored).

    Ids of ``frame`` that are not in the data file are ignored with a warning; when
    ``ids`` are only some of the data file's rows (validate skips the embargo eras),
    ``data_ids`` (returning all of them, called only if some id is not in ``ids``) keeps
    the other rows' ids out of that count.
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
        none = np.zeros(len(frame), dtype=bool)
        if not found.any() and _unknown(frame.index, none, data_ids) == len(frame):
            raise NoCommonIdsError(_no_common_ids(what, frame.index, ids))
        if len(frame) > int(found.sum()):
            in_frame = np.zeros(len(frame), dtype=bool)
            in_frame[position[found]] = True
            extra = _unknown(frame.index, in_frame, data_ids)
            if extra:
                log.warning(
                    "%d ids of the %s are not in the data file and are ignored", extra, what
                )
        rows, source = np.flatnonzero(found), position[found]
        if len(rows) < len(ids):
            out.fill(np.nan)
        for row, column in zip(out, columns, strict=True):
            row[rows] = column.to_numpy(dtype=np.float64)[source]
    return out[0] if isinstance(frame, pd.Series) else out.T


def _no_common_ids(what: str, index: pd.Index, ids: np.ndarray | pa.Array) -> str:
    """The refusal of a file of ``what`` (index ``index``) that shares no id with the data
    file's ``ids``, showing one id of each, so that a mix-up can be seen."""
    theirs, ours = str(index[0]), str(arrow_ids(ids)[0].as_py()) if len(ids) else "none"
    rows = (" and that they are predictions of its rows (live predictions cannot be scored: "
            "the live rows have no targets yet)" if what == "predictions" else "")  # fmt: skip
    return (f"no id of the {what} matches an id of the data file (the {what}: {theirs!r}, "
            f"...; the data file: {ours!r}, ...); check that both come from the same dataset "
            f"version{rows}.")  # fmt: skip
