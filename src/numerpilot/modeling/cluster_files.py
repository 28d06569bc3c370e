"""The workers' copy of the data, compared with this machine's before any fit.

A worker reads the parquet files at ``cluster.data_url`` (or this machine's paths): a stale
mirror would train other models. Each file's footer is fingerprinted (:func:`footprint`)
on a worker and here; any difference is refused before the first fit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from numerpilot.data.load import Location
from numerpilot.errors import DataError
from numerpilot.modeling.distributed import result


def footprint(path: Location) -> tuple[int, str]:
    """Rows of the parquet file at ``path`` and a digest of its footer: its columns, each
    row group's rows and each column chunk's values count, sizes and statistics. Copies of
    one file agree; a file with other rows, columns or values (almost surely) does not.
    Only thrift fields of the format go in, so two pyarrow versions agree too."""
    from numerpilot.data.load import open_parquet

    meta = open_parquet(path).metadata
    digest = hashlib.sha256(repr((meta.num_rows, meta.num_columns)).encode())
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        digest.update(repr(group.num_rows).encode())
        for c in range(group.num_columns):
            chunk = group.column(c)
            stats = chunk.statistics if chunk.is_stats_set else None
            values = (stats.min_raw, stats.max_raw) if stats and stats.has_min_max else None
            nulls = stats.null_count if stats and stats.has_null_count else None
            digest.update(repr((
                chunk.path_in_schema, chunk.physical_type, chunk.num_values,
                chunk.total_compressed_size, chunk.total_uncompressed_size, values, nulls,
            )).encode())  # fmt: skip
    return meta.num_rows, digest.hexdigest()


def footprints(paths: Sequence[str], mirrored: bool = False) -> list[tuple[int, str]]:
    """:func:`footprint` of each file; run on a worker to see the worker's copies.

    A DataError naming the worker's host when a local path is missing there: the copy
    under ``cluster.data_url`` (``mirrored``), or this machine's path, which a worker on
    another machine does not see without a shared folder."""
    from numerpilot.data.remote import is_url, location

    for path in paths:
        if not is_url(path) and not Path(path).is_file():
            raise DataError(_missing_on_worker(path, mirrored))
    return [footprint(location(p)) for p in paths]


def _missing_on_worker(path: str, mirrored: bool) -> str:
    """What to do when a worker has no file at ``path``."""
    import socket

    where = f"a Dask worker (on {socket.gethostname()}) has no file {path}"
    if mirrored:
        return (f"{where}, the workers' copy under cluster.data_url: copy the dataset "
                "folder there (its version folders inside) or fix cluster.data_url.")  # fmt: skip
    return (f"{where}, this machine's path of the dataset: give the workers the data folder "
            "at the same path (a shared folder), or set cluster.data_url to a copy they can "
            "read (e.g. s3://bucket/prefix).")  # fmt: skip


def check_files(client: Any, files: Sequence[str], local: Sequence[Path]) -> None:
    """Refuse (DataError) before any fit when a worker cannot open ``files`` or its copy
    is not the file ``local`` (its footprint differs: a stale mirror would give other
    models)."""
    from numerpilot.data.remote import redact

    mirrored = [str(path) for path in local] != list(files)  # cluster.data_url is set
    future = client.submit(footprints, list(files), mirrored, pure=False)
    there = result(future, "checking the workers' copy of the data")
    for file, path, (rows, digest) in zip(files, local, there, strict=True):
        here, local_digest = footprint(path)
        if rows != here:
            raise DataError(
                f"the workers' {redact(file)} has {rows:,} rows but {path} has {here:,}: "
                "copy the current dataset there (cluster.data_url) before training."
            )
        if digest != local_digest:
            raise DataError(
                f"the workers' {redact(file)} has the {rows:,} rows of {path} but other "
                "columns or values: copy the current dataset there (cluster.data_url) "
                "before training."
            )
