"""``EraIndex``: rows grouped by era, built once when data is loaded and passed along.

Every per-era computation (ranks, neutralization, the ensemble, every metric) works on the
rows of one era at a time. Grouping them costs a sort of the era labels; an ``EraIndex``
does it once and every later step reuses it, including the sub-index of the rows a metric
can score (:meth:`EraIndex.select`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True, eq=False)
class EraIndex:
    """Rows of an (n,)-row array grouped by era.

    rows (m,) int64: row numbers into the caller's arrays, grouped by era, in their original
    order within an era; starts (E+1,) int64: offsets of each era's rows in ``rows`` (every
    era non-empty); labels (E,) str: era names, sorted. An index of all rows has m == n; a
    selection of some rows (:meth:`select`) has m < n and keeps the caller's n.
    """

    rows: np.ndarray
    starts: np.ndarray
    labels: np.ndarray
    n: int
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_eras(cls, eras: np.ndarray) -> EraIndex:
        """Index (n,) era labels (str, object or int); an already sorted input is not sorted."""
        values = np.asarray(eras)
        if values.dtype == object:
            values = values.astype(str)
        n = len(values)
        if n < 2 or bool(np.all(values[1:] >= values[:-1])):
            rows, ordered = np.arange(n, dtype=np.int64), values
        else:
            rows = np.argsort(values, kind="stable").astype(np.int64)
            ordered = values[rows]
        change = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
        starts = np.concatenate([[0], change, [n]]) if n else np.zeros(1)
        starts = starts.astype(np.int64)
        return cls(rows, starts, ordered[starts[:-1]].astype(str), n)

    @classmethod
    def from_codes(cls, codes: np.ndarray, labels: np.ndarray) -> EraIndex:
        """Index rows given (n,) integer codes into (E,) sorted ``labels`` (unused eras dropped)."""
        codes = np.asarray(codes, dtype=np.int64)
        n = len(codes)
        if n < 2 or bool(np.all(codes[1:] >= codes[:-1])):
            rows = np.arange(n, dtype=np.int64)
        else:
            rows = np.argsort(codes, kind="stable").astype(np.int64)
        counts = np.bincount(codes, minlength=len(labels))
        used = counts > 0
        starts = np.concatenate([[0], np.cumsum(counts[used])]).astype(np.int64)
        return cls(rows, starts, np.asarray(labels)[used].astype(str), n)

    # -- shape ---------------------------------------------------------------------------
    @property
    def n_eras(self) -> int:
        return len(self.labels)

    @property
    def m(self) -> int:
        """Rows in the index."""
        return int(self.starts[-1])

    @property
    def counts(self) -> np.ndarray:
        """(E,) rows per era."""
        return self._cached("counts", lambda: np.diff(self.starts))

    @property
    def is_identity(self) -> bool:
        """True when the index holds every row in the caller's order (no gather needed)."""
        return self.m == self.n and bool(self._cached(
            "identity", lambda: np.array(np.array_equal(self.rows, np.arange(self.n)))
        ))  # fmt: skip

    @property
    def era_of_row(self) -> np.ndarray:
        """(m,) era number (into ``labels``) of each grouped row."""
        return self._cached(
            "era_of_row",
            lambda: np.repeat(np.arange(self.n_eras, dtype=self._int), self.counts),
        )

    @property
    def position(self) -> np.ndarray:
        """(m,) position of each grouped row inside its era."""

        def build() -> np.ndarray:
            first = self.starts[:-1].astype(self._int)
            return np.asarray(np.arange(self.m, dtype=self._int) - first[self.era_of_row])

        return self._cached("position", build)

    def codes(self) -> np.ndarray:
        """(n,) era number of each row in the caller's order (-1 for rows not indexed)."""
        out = np.full(self.n, -1, dtype=np.int64)
        out[self.rows] = self.era_of_row
        return out

    def era_rows(self, e: int) -> np.ndarray:
        """Row numbers (caller's order) of era ``e``."""
        return self.rows[self.starts[e] : self.starts[e + 1]]

    # -- moving values between the caller's order and the grouped order ------------------
    def take(self, values: np.ndarray, dtype: Any = np.float64) -> np.ndarray:
        """Values (n,) or (n, k) of the indexed rows, grouped by era: (m,) or (m, k)."""
        if self.is_identity:
            return np.ascontiguousarray(values, dtype=dtype)
        return np.asarray(np.take(values, self.rows, axis=0), dtype=dtype)

    def put(self, grouped: np.ndarray, fill: float = np.nan) -> np.ndarray:
        """Grouped values (m,) or (m, k) back in the caller's order: (n,) or (n, k)."""
        if self.is_identity:
            return np.asarray(grouped)
        out = np.full((self.n, *grouped.shape[1:]), fill, dtype=grouped.dtype)
        out[self.rows] = grouped
        return out

    # -- per-era reductions on grouped values --------------------------------------------
    def sum(self, x: np.ndarray) -> np.ndarray:
        """Per-era sum of grouped x (m,) or (m, k) -> (E,) or (E, k)."""
        if self.n_eras == 0:
            return np.zeros((0, *x.shape[1:]), dtype=np.float64)
        return np.asarray(np.add.reduceat(x, self.starts[:-1], axis=0))

    def mean(self, x: np.ndarray) -> np.ndarray:
        """Per-era mean of grouped x (m,) -> (E,)."""
        return np.asarray(self.sum(x) / self.counts)

    def spread(self, per_era: np.ndarray) -> np.ndarray:
        """(E,) values repeated to the (m,) grouped rows of their eras."""
        return np.repeat(per_era, self.counts, axis=0)

    def center(self, x: np.ndarray) -> np.ndarray:
        """Grouped x (m,) minus its era's mean."""
        return np.asarray(x - self.spread(self.mean(x)))

    # -- sub-indices ---------------------------------------------------------------------
    def select(
        self, valid: np.ndarray, min_share: float = 0.0, min_rows: int = 1
    ) -> tuple[EraIndex, np.ndarray]:
        """The rows where ``valid`` (n,) holds, in eras where at least ``min_share`` of the
        era's rows and at least ``min_rows`` rows are valid. Returns (sub-index, kept (E,))."""
        ok = np.asarray(valid, dtype=bool)[self.rows]
        n_valid = self.sum(ok.astype(np.int64))
        with np.errstate(divide="ignore", invalid="ignore"):
            kept = (n_valid / self.counts >= min_share) & (n_valid >= max(min_rows, 1))
        keep_rows = ok & self.spread(kept)
        starts = np.concatenate([[0], np.cumsum(n_valid[kept])]).astype(np.int64)
        return EraIndex(self.rows[keep_rows], starts, self.labels[kept], self.n), kept

    def subset(self, kept: np.ndarray) -> EraIndex:
        """The rows of the eras where ``kept`` (E,) bool holds."""
        kept = np.asarray(kept, dtype=bool)
        starts = np.concatenate([[0], np.cumsum(self.counts[kept])]).astype(np.int64)
        return EraIndex(self.rows[self.spread(kept)], starts, self.labels[kept], self.n)

    def grouped(self) -> EraIndex:
        """The index of the grouped values themselves ((m,) arrays already in era order)."""
        return EraIndex(np.arange(self.m, dtype=np.int64), self.starts, self.labels, self.m)

    # -- internals -----------------------------------------------------------------------
    @property
    def _int(self) -> type[np.signedinteger[Any]]:
        return np.int32 if self.m < 2**31 else np.int64

    def _cached(self, key: str, build: Callable[[], np.ndarray]) -> np.ndarray:
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]


def as_index(eras: EraIndex | np.ndarray) -> EraIndex:
    """An :class:`EraIndex` as given, or built from (n,) era labels."""
    return eras if isinstance(eras, EraIndex) else EraIndex.from_eras(eras)
