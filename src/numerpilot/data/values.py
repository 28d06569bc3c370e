"""What the values read from a dataset file must be: features whole numbers 0..4, ids
unique within an era, targets finite (±inf counts as missing) and, as Numerai's, in 0..1."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from numerpilot.data.remote import Location
from numerpilot.errors import DataError
from numerpilot.kernel.values import not_whole_0_4

log = logging.getLogger(__name__)


def check_feature_column(values: np.ndarray, name: str, path: Location) -> None:
    """A feature column stored other than as int8 (floats, uint8, int32/int64) must hold
    whole numbers 0..4: the copy into the int8 matrix would cut 0.25 to 0, wrap 260 to 4
    and show a uint8 200 as -56."""
    if values.dtype == np.int8:
        return  # checked on the whole matrix at once (check_feature_values)
    _refuse(path, not_whole_0_4(values, [name]))


def check_unique_ids(path: Location, ids: pa.Array, eras: np.ndarray) -> None:
    """One row per id and era (n,), each with an id: a repeated row would count twice in
    its era's score and fit, and Numerai refuses a submission whose ids repeat. (An id may
    come back in other eras: a ticker's, say.)"""
    fix = "keep one row per id."
    if ids.null_count:
        raise DataError(f"{path.name} has {ids.null_count} rows without an id; {fix}")
    if pc.count_distinct(ids).as_py() == len(ids):  # Numerai's files: one pass, no copy
        return
    rows = pd.DataFrame({"era": eras, "id": ids.to_numpy(zero_copy_only=False)})
    repeated = rows.loc[rows.duplicated(), "id"].unique()
    if len(repeated):
        ids = "1 id that repeats" if len(repeated) == 1 else f"{len(repeated)} ids that repeat"
        raise DataError(f"{path.name} has {ids} within an era (e.g. {repeated[0]}); {fix}")


def infinite_as_missing(path: Location, y: np.ndarray, names: Sequence[str]) -> None:
    """±inf targets count as missing (NaN), as ``score`` counts them, with a warning: one
    such value would otherwise be trained on and blow up the trees' leaves."""
    infinite = np.isinf(y)
    if not infinite.any():
        return
    counts = infinite.sum(axis=0)
    y[infinite] = np.nan
    said = ", ".join(f"{n} ({c})" for n, c in zip(names, counts, strict=True) if c)
    log.warning("%s: infinite target values count as missing: %s", path.name, said)


def warn_outside_unit(path: Location, y: np.ndarray, names: Sequence[str]) -> None:
    """Warn about targets (n, t) outside 0..1: Numerai's are 0..1, and MMC (so the payout)
    scales with the target (CORR does not), so they would not compare with Numerai's."""
    if not y.size:
        return
    low, high = np.fmin.reduce(y, axis=0), np.fmax.reduce(y, axis=0)  # NaN skipped, no copy
    outside = [(n, lo if lo < 0 else hi) for n, lo, hi in zip(names, low, high, strict=True)
               if lo < 0 or hi > 1]  # fmt: skip
    if outside:
        said = ", ".join(f"{n} (e.g. {v:g})" for n, v in outside[:3])
        more = f" and {len(outside) - 3} more" if len(outside) > 3 else ""
        log.warning("%s: targets outside 0..1: %s%s. Numerai's targets are 0..1; MMC and the "
                    "payout scale with the target, so rescale them to 0..1 to compare the "
                    "scores with Numerai's (CORR is the same either way).", path.name, said,
                    more)  # fmt: skip


def check_feature_values(path: Location, x: np.ndarray, names: Sequence[str]) -> None:
    """Numerai's features are 0..4: one pass over the int8 matrix (no copy); the refusal
    names the first feature outside 0..4 (of ``names``) and one of its values."""
    _refuse(path, not_whole_0_4(x, names))


def _refuse(path: Location, said: str | None) -> None:
    """A DataError for a feature that holds other than Numerai's 0..4 (``said``: which and
    what, from :func:`not_whole_0_4`), if any."""
    if said is not None:
        raise DataError(f"{path.name}: {said}; numerpilot expects Numerai's features, whole "
                        "numbers 0..4. Re-download the data (or fix your own file).")  # fmt: skip
