"""Column-selective, int8-preserving loading of Numerai parquet files.

Only the requested columns of the row groups that hold a selected era are read, and
features land directly in one preallocated C-ordered int8 matrix (1 byte a value): all
2748 features of v5.2 train fit in ~7.5 GB instead of ~56 GB as float64.

Where the time goes: pyarrow decodes a batch of columns of one row group on all its
threads while this thread copies the previous batch into the matrix. The copy goes in
row tiles that stay in the CPU cache (a column written straight into a C-ordered matrix
touches one cache line per value). Eras are read as dictionary codes, so selecting and
indexing them needs no string sorting.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from numerpilot.data import layout
from numerpilot.data.eras import era_codes
from numerpilot.data.local import own_dataset
from numerpilot.data.remote import Location as Location  # a dataset file: path or URL
from numerpilot.data.remote import RemoteFile, clean_error
from numerpilot.data.values import (
    check_feature_column,
    check_feature_values,
    check_unique_ids,
    infinite_as_missing,
    warn_outside_unit,
)
from numerpilot.errors import DataError
from numerpilot.kernel.eras import EraIndex

log = logging.getLogger(__name__)

#: Decoded bytes of one column batch (parquet decodes a whole row group per column, so a
#: batch takes about this much beside the matrix); at least ``_MIN_COLUMNS`` columns.
_BATCH_BYTES = 64 * 2**20
_MIN_COLUMNS = 16
#: Bytes of one row tile of the copy into the matrix: small enough for the L2 cache.
_TILE_BYTES = 256 * 2**10


@dataclass(frozen=True)
class EraData:
    """Rows of one dataset file as plain arrays.

    ids: (n,) str; eras: (n,) str; features: (n, f) int8; targets: (n, t) float32 with NaN;
    era_codes: (n,) int32 into era_labels (E,) str: the eras of the rows, sorted
    (eras == era_labels[era_codes]); id_array: the ids as read, one arrow large_string
    array (matching ids of other files in arrow needs no Python string per id).
    """

    ids: np.ndarray
    eras: np.ndarray
    features: np.ndarray
    feature_names: list[str]
    targets: np.ndarray
    target_names: list[str]
    era_codes: np.ndarray | None = field(default=None, repr=False)
    era_labels: np.ndarray | None = field(default=None, repr=False)
    id_array: pa.Array | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    def target(self, name: str) -> np.ndarray:
        return self.targets[:, self.target_names.index(name)]

    @property
    def unique_eras(self) -> np.ndarray:
        return self.era_index.labels

    @cached_property
    def era_index(self) -> EraIndex:
        """The rows grouped by era, built once and passed to the ensemble and the scorer."""
        if self.era_codes is not None and self.era_labels is not None:
            return EraIndex.from_codes(self.era_codes, self.era_labels)
        return EraIndex.from_eras(self.eras)


#: The columns a file of your own needs, as Numerai's layout has them (live: no targets).
_OWN_COLUMNS = {
    layout.TRAIN: " (an 'era' column, feature_ and target columns)",
    layout.VALIDATION: " (an 'era' column, feature_ and target columns)",
    layout.LIVE: " (an 'era' column and the feature_ columns; no targets)",
}


def _missing_hint(path: Location, empty: bool = False) -> str:
    """What to do about a file that is missing (or ``empty``): download it, unless it
    belongs to a dataset of your own ('download' refuses such a data.dir)."""
    if isinstance(path, Path) and own_dataset(path.parent):
        do = f"write {path.name} again with its rows" if empty else f"put {path.name} there"
        columns = _OWN_COLUMNS.get(path.name, "")
        return (f"{path.parent} holds a dataset of your own (data.dir): {do}, in Numerai's "
                f"layout{columns}. 'numerpilot download' fetches Numerai's data only into "
                "another data.dir.")  # fmt: skip
    return ("Run 'numerpilot download' (or 'numerpilot demo-data DIR' for synthetic data)"
            f" to fetch {path.name}.")  # fmt: skip


def open_parquet(path: Location, read_dictionary: Sequence[str] = ()) -> pq.ParquetFile:
    """The parquet file at ``path``; string columns in ``read_dictionary`` (which the file
    must have, e.g. the era) come as codes.

    A file named by URL is opened through its store; only ranges of it are read later
    (footer, then column chunks), buffered together per read (``pre_buffer``). A file
    whose column names repeat is refused: a column could not be read by its name.
    """
    if isinstance(path, RemoteFile):
        source = path.open()
    elif not path.exists():
        raise DataError(f"{path} is missing. {_missing_hint(path)}")
    else:
        source = path
    remote = isinstance(path, RemoteFile)
    try:
        pf = pq.ParquetFile(source, pre_buffer=remote)
    except Exception as error:  # pyarrow raises several unrelated types for corrupt files
        raise DataError(f"{path} is not a readable parquet file ({error}). "
                        "Delete it and download it again.") from None  # fmt: skip
    check_column_names(path, pf.schema_arrow.names, read_dictionary)
    if not read_dictionary:
        return pf
    return pq.ParquetFile(  # the footer read above is not read again
        source, metadata=pf.metadata, read_dictionary=list(read_dictionary), pre_buffer=remote
    )


def check_column_names(path: Location, names: list[str], required: Sequence[str] = ()) -> None:
    """Refuse repeated column names and a missing ``required`` column (the era)."""
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    if repeated:
        shown = ", ".join(repeated[:3]) + (
            f" and {len(repeated) - 3} more" if len(repeated) > 3 else ""
        )
        raise DataError(f"{path} has column names that repeat ({shown}); fix the file, "
                        "or delete it and download it again.")  # fmt: skip
    for name in required:
        if name not in names:
            raise DataError(f"{path} has no '{name}' column. Delete it and download it "
                            f"again; a dataset of your own needs an '{name}' column (the "
                            "period each row belongs to, e.g. its date).")  # fmt: skip


@contextlib.contextmanager
def _damaged_pages(path: Location) -> Iterator[None]:
    """A read that fails inside the file (its footer was fine) becomes a DataError."""
    try:
        yield
    except (OSError, pa.ArrowException) as error:
        detail = " ".join(str(error).split())
        if isinstance(path, RemoteFile):
            raise DataError(f"reading {path} failed ({clean_error(detail, path.url)}).") from None
        raise DataError(f"{path} is damaged ({detail}). Delete it and download it again.") from None


def _check_columns(
    path: Location, available: set[str], wanted: Sequence[str], what: str, fix: str
) -> None:
    missing = [c for c in wanted if c not in available]
    if missing:
        shown = ", ".join(missing[:3]) + (
            f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        )
        raise DataError(f"{path.name} lacks {len(missing)} {what} ({shown}). {fix}")


def _targets_fix(path: Location, names: Sequence[str]) -> str:
    """What to do about targets a file lacks: the target columns it has (a dataset of your
    own may have no features.json to list them)."""
    have = [name for name in names if name.startswith(layout.MAIN_TARGET)]
    shown = ", ".join(have[:3]) + (f" and {len(have) - 3} more" if len(have) > 3 else "")
    return (f"Set train.targets to target columns {path.name} has ({shown or 'none'}; "
            "features.json's 'targets' lists Numerai's).")  # fmt: skip


def _check_numeric(path: Location, schema: pa.Schema, names: Sequence[str]) -> None:
    """Features and targets must be numbers (a text column would fail deep in the copy)."""
    for name in names:
        kind = schema.field(name).type
        if pa.types.is_dictionary(kind):  # a pandas category: its values' type
            kind = kind.value_type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            what = "text" if pa.types.is_string(kind) or pa.types.is_large_string(kind) else kind
            raise DataError(f"{path.name}: column {name} holds {what} values, not numbers. "
                            "Re-download the data (or fix your own file).")  # fmt: skip


def _chosen(
    labels: np.ndarray, era_step: int, eras: Sequence[str] | None, skip_first_eras: int
) -> np.ndarray:
    """(E,) bool: the sorted ``labels`` selected by ``eras`` or every ``era_step``-th."""
    wanted = labels[::era_step] if eras is None else np.sort(np.asarray(eras, dtype=str))
    return np.isin(labels, wanted[skip_first_eras:])


def load_era_data(
    path: Location,
    features: Sequence[str],
    targets: Sequence[str] = (),
    *,
    era_step: int = 1,
    eras: Sequence[str] | None = None,
    skip_first_eras: int = 0,
    feature_fix: str = "Check data.feature_set, or re-download the data.",
) -> EraData:
    """Read ``features`` (as int8) and ``targets`` of the rows whose era is selected.

    Eras are selected by ``eras`` (explicit list) or by taking every ``era_step``-th era;
    then the first ``skip_first_eras`` of them are dropped (an embargo after train).
    """
    pf = open_parquet(path, read_dictionary=[layout.ERA])
    available = set(pf.schema_arrow.names)
    _check_columns(path, available, features, "model features", feature_fix)
    if layout.MAIN_TARGET in targets and layout.MAIN_TARGET not in available:
        raise DataError(f"{path.name} has no '{layout.MAIN_TARGET}' column, Numerai's main "
                        "target: train fits the ensemble's weights against it and validate "
                        "scores against it, whatever train.targets lists. Name your main "
                        "target column 'target' (or download Numerai's data again).")  # fmt: skip
    _check_columns(path, available, targets, "targets", _targets_fix(path, pf.schema_arrow.names))
    _check_numeric(path, pf.schema_arrow, [*features, *targets])
    if pf.metadata.num_rows == 0:
        raise DataError(f"{path} has no rows. {_missing_hint(path, empty=True)}")
    with _damaged_pages(path):
        codes, labels = era_codes(pf.read(columns=[layout.ERA]).column(0), path.name)
    chosen = _chosen(labels, era_step, eras, skip_first_eras)
    mask = chosen[codes]
    if not mask.any():
        skipped = (f", after the first {skip_first_eras} skipped as the embargo after train "
                   "(lower train.embargo_eras)") if skip_first_eras else ""  # fmt: skip
        raise DataError(
            f"{path.name} has no rows in the selected eras ({int(chosen.sum())} of its "
            f"{len(labels)} eras chosen{skipped}); check data.era_step."
        )
    groups = _row_groups(pf, mask)
    n = int(mask.sum())
    x = np.empty((n, len(features)), dtype=np.int8)
    y = np.empty((n, len(targets)), dtype=np.float32)
    with _damaged_pages(path):
        ids = _read_ids(pf, groups, mask, available)
        _fill(pf, groups, [(x, list(features), True), (y, list(targets), False)], path)
    pa.default_memory_pool().release_unused()
    check_feature_values(path, x, features)
    check_unique_ids(path, ids, codes[mask])
    infinite_as_missing(path, y, targets)
    warn_outside_unit(path, y, targets)
    kept = codes[mask]
    present = np.bincount(kept, minlength=len(labels)) > 0
    renumber = (np.cumsum(present) - 1).astype(np.int32)
    return EraData(np.asarray(ids.to_numpy(zero_copy_only=False)), labels[kept], x,
                   list(features), y, list(targets), renumber[kept], labels[present],
                   ids)  # fmt: skip


@dataclass(frozen=True)
class _Group:
    """Selected rows of one row group: ``runs`` (r, 2) [start, stop) within the group,
    landing at rows ``out``..``out + count`` of the matrix."""

    index: int
    rows: int
    runs: np.ndarray
    out: int
    count: int


def _row_groups(pf: pq.ParquetFile, mask: np.ndarray) -> list[_Group]:
    """The row groups holding selected rows, with their runs of consecutive selected rows
    (Numerai files are sorted by era: a run is one or more whole eras)."""
    groups, start, out = [], 0, 0
    for index in range(pf.metadata.num_row_groups):
        rows = pf.metadata.row_group(index).num_rows
        part = mask[start : start + rows]
        start += rows
        edges = np.flatnonzero(np.diff(np.concatenate([[0], part.view(np.int8), [0]])))
        if len(edges):
            runs = edges.reshape(-1, 2)
            count = int((runs[:, 1] - runs[:, 0]).sum())
            groups.append(_Group(index, rows, runs, out, count))
            out += count
    return groups


def _read_ids(
    pf: pq.ParquetFile, groups: list[_Group], mask: np.ndarray, available: set[str]
) -> pa.Array:
    """(n,) large_string ids of the selected rows (row numbers when the file has no id)."""
    if layout.ID not in available:
        return pa.array(np.flatnonzero(mask).astype(str), pa.large_string())
    parts = []
    for g in groups:
        column = pf.read_row_group(g.index, columns=[layout.ID]).column(0)
        for begin, end in g.runs:
            parts += column.slice(begin, end - begin).chunks  # slices: no copy
    return pa.chunked_array(parts, column.type).cast(pa.large_string()).combine_chunks()


def _batch_columns(rows: int, itemsize: int) -> int:
    return max(_MIN_COLUMNS, _BATCH_BYTES // max(1, rows * itemsize))


def _fill(
    pf: pq.ParquetFile,
    groups: list[_Group],
    outputs: list[tuple[np.ndarray, list[str], bool]],
    path: Location,
) -> None:
    """Copy the selected rows of each named column into its output matrix.

    Parquet stores int8 as INT32 and decodes a whole row group at a time, so reading all
    columns at once would briefly take 4 bytes per value of the *whole* file. Batches of
    columns (``_BATCH_BYTES`` decoded) of one row group bound that; the next batch is
    decoded (pyarrow, all threads) while this one is copied.
    """
    jobs = [
        (g, matrix, names[first : first + width], first, is_feature)
        for g in groups
        for matrix, names, is_feature in outputs
        for width in [_batch_columns(g.rows, matrix.itemsize)]
        for first in range(0, len(names), width)
    ]
    if not jobs:
        return

    def read(i: int) -> pa.Table:
        g, _, chunk, _, _ = jobs[i]
        return pf.read_row_group(g.index, columns=chunk, use_threads=True)

    with ThreadPoolExecutor(max_workers=1) as pool:
        pending: Future[pa.Table] = pool.submit(read, 0)
        for i, (g, matrix, chunk, first, is_feature) in enumerate(jobs):
            table = pending.result()
            if i + 1 < len(jobs):
                pending = pool.submit(read, i + 1)
            columns = [_values(table.column(j), name, is_feature, path)
                       for j, name in enumerate(chunk)]  # fmt: skip
            del table
            block = matrix[g.out : g.out + g.count, first : first + len(chunk)]
            _copy_runs(columns, g.runs, block)


def _copy_runs(columns: list[np.ndarray], runs: np.ndarray, block: np.ndarray) -> None:
    """Write rows ``runs`` of the (rows,) ``columns`` side by side into ``block`` (k, c).

    Row tiles of ``_TILE_BYTES`` keep the destination in cache while each column's slice
    is written into it (a column straight into a C-ordered matrix misses it per value).
    """
    tile = max(64, _TILE_BYTES // max(1, block.shape[1] * block.itemsize))
    out = 0
    for begin, end in runs:
        for start in range(begin, end, tile):
            stop = min(start + tile, end)
            np.stack([c[start:stop] for c in columns], axis=1,
                     out=block[out : out + stop - start], casting="unsafe")  # fmt: skip
            out += stop - start


def _values(col: pa.ChunkedArray, name: str, is_feature: bool, path: Location) -> np.ndarray:
    """A column as numpy; nulls become NaN (targets) or an error (features), as does a
    feature stored wider than int8 whose values are not whole numbers 0..4."""
    if not col.null_count:
        values = np.asarray(col.to_numpy(zero_copy_only=False))
        if is_feature:
            check_feature_column(values, name, path)
        return values
    if is_feature:
        raise DataError(f"{path.name}: feature {name} has missing values; Numerai features "
                        "never do. Re-download the data (or fix your own file).")  # fmt: skip
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)
