"""Era segments: rows sorted by era once, then per-era sums, ranks and correlations in numpy.

Every function here works on data already sorted by era, described by :class:`Segments`
(``starts`` (E+1,) offsets into the sorted rows, every era non-empty). No Python loop runs
over eras except where noted.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from scipy import special

log = logging.getLogger(__name__)

#: numerai-tools' DEFAULT_MAX_FILTERED_INDEX_RATIO: at most 20 % of an era may be filtered.
MAX_FILTERED_RATIO = 0.2


@dataclass(frozen=True)
class Segments:
    """E non-empty consecutive segments of m sorted rows: ``starts`` (E+1,) int64."""

    starts: np.ndarray

    @cached_property
    def counts(self) -> np.ndarray:
        """(E,) rows per segment."""
        return np.diff(self.starts)

    @cached_property
    def segment_of_row(self) -> np.ndarray:
        """(m,) segment number of each row."""
        return np.repeat(np.arange(len(self.counts), dtype=self._index_dtype), self.counts)

    @cached_property
    def position(self) -> np.ndarray:
        """(m,) position of each row inside its segment."""
        starts = self.starts[:-1].astype(self._index_dtype)
        rows = np.arange(int(self.starts[-1]), dtype=self._index_dtype)
        return np.asarray(rows - starts[self.segment_of_row])

    @property
    def _index_dtype(self) -> type[np.signedinteger[Any]]:
        return np.int32 if int(self.starts[-1]) < 2**31 else np.int64

    def sum(self, x: np.ndarray) -> np.ndarray:
        """Per-segment sum of x (m,) or (m, k) -> (E,) or (E, k)."""
        if len(self.counts) == 0:
            return np.zeros((0, *x.shape[1:]), dtype=np.float64)
        return np.asarray(np.add.reduceat(x, self.starts[:-1], axis=0))

    def mean(self, x: np.ndarray) -> np.ndarray:
        """Per-segment mean of x (m,) -> (E,)."""
        return np.asarray(self.sum(x) / self.counts)

    def spread(self, per_segment: np.ndarray) -> np.ndarray:
        """Repeat (E,) values to the (m,) rows of their segments."""
        return np.repeat(per_segment, self.counts, axis=0)

    def center(self, x: np.ndarray) -> np.ndarray:
        """x (m,) minus its segment mean."""
        return np.asarray(x - self.spread(self.mean(x)))


@dataclass(frozen=True)
class Selection:
    """Rows kept for scoring, sorted by era.

    rows (m,) indices into the caller's arrays; segments over them; labels (E',) kept eras;
    skipped (S,) eras dropped (too few valid rows); era_index (E',) positions of the kept eras
    among all eras of the :class:`EraGroups` that made the selection.
    """

    rows: np.ndarray
    segments: Segments
    labels: np.ndarray
    skipped: np.ndarray
    era_index: np.ndarray = field(repr=False)
    identity: bool = False

    def column(self, values: np.ndarray, j: int | None = None) -> np.ndarray:
        """Selected rows of values (n,) or of column j of values (n, k): contiguous (m,)."""
        col = values if j is None else values[:, j]
        if self.identity:
            return np.ascontiguousarray(col, dtype=np.float64)
        return np.asarray(np.take(col, self.rows), dtype=np.float64)


@dataclass(frozen=True)
class EraGroups:
    """Rows grouped by era: order (n,) stable permutation sorting rows by era,
    labels (E,) sorted era names as str, segments over the sorted rows."""

    order: np.ndarray
    labels: np.ndarray
    segments: Segments

    @classmethod
    def from_eras(cls, eras: np.ndarray) -> EraGroups:
        """Group (n,) era labels (str, object or int); a sorted input is not re-sorted."""
        values = np.asarray(eras)
        if values.dtype == object:
            values = values.astype(str)
        n = len(values)
        if n < 2 or bool(np.all(values[1:] >= values[:-1])):
            order = np.arange(n)
            ordered = values
        else:
            order = np.argsort(values, kind="stable")
            ordered = values[order]
        change = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
        starts = np.concatenate([[0], change, [n]]).astype(np.int64) if n else np.zeros(1, np.int64)
        labels = ordered[starts[:-1]].astype(str)
        return cls(order, labels, Segments(starts))

    def select(
        self, valid: np.ndarray, max_filtered_ratio: float = MAX_FILTERED_RATIO
    ) -> Selection:
        """Keep the valid rows (mask (n,) in the caller's order) of eras where at least
        ``1 - max_filtered_ratio`` of the rows and at least 2 rows are valid."""
        valid_sorted = np.asarray(valid, dtype=bool)[self.order]
        n_valid = self.segments.sum(valid_sorted.astype(np.int64))
        counts = self.segments.counts
        with np.errstate(divide="ignore", invalid="ignore"):
            enough = (n_valid / counts >= (1 - max_filtered_ratio)) & (n_valid >= 2)
        keep_rows = valid_sorted & self.segments.spread(enough)
        era_index = np.flatnonzero(enough)
        starts = np.concatenate([[0], np.cumsum(n_valid[enough])]).astype(np.int64)
        rows = self.order[keep_rows]
        n = len(self.order)
        identity = len(rows) == n and bool(np.array_equal(rows, np.arange(n)))
        return Selection(
            identity=identity,
            rows=rows,
            segments=Segments(starts),
            labels=self.labels[enough],
            skipped=self.labels[~enough],
            era_index=era_index,
        )


class Ranker:
    """Tie-kept percentile ranks within the segments of ``seg``, and functions of them.

    ``rank(x)`` equals pandas' ``(s.rank(method="average") - 0.5) / s.count()`` applied to
    each segment (bitwise). ``transform(x, fn)`` returns ``fn(rank(x))`` and evaluates ``fn``
    once per distinct rank: a column without ties reuses ``fn`` of the tie-free ranks, which
    are the same for every column (cached per ``fn``).
    """

    def __init__(self, seg: Segments) -> None:
        self.seg = seg
        counts = seg.counts
        self.m = int(seg.starts[-1])
        self.width = int(counts.max()) if len(counts) else 0
        self.padded_size = len(counts) * self.width
        self.dense = self.padded_size == self.m
        is_first = np.zeros(self.m, dtype=bool)
        is_first[seg.starts[:-1]] = True
        self.era_first = is_first
        self.pad_valid = (
            None if self.dense else (np.arange(self.width)[None, :] < counts[:, None]).ravel()
        )
        self._cache: dict[Callable[[np.ndarray], np.ndarray], np.ndarray] = {}

    def _tie_free(self, fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        if fn not in self._cache:
            pct = (self.seg.position + 1 - 0.5) / self.seg.spread(self.seg.counts)
            self._cache[fn] = fn(pct)
        return self._cache[fn]

    def _sorted(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(values sorted within segments (m,), row of each sorted value (m,))."""
        seg = self.seg
        n_seg, width = len(seg.counts), self.width
        if self.dense:
            block = x.reshape(n_seg, width)
        else:
            block = np.full((n_seg, width), np.nan)
            block[seg.segment_of_row, seg.position] = x
        idx = np.argsort(block, axis=1)
        idx += seg.starts[:-1, None] if self.dense else (np.arange(n_seg) * width)[:, None]
        flat = idx.ravel()
        if self.pad_valid is not None:
            flat = flat[self.pad_valid]
        ordered = block.ravel()[flat]
        rows = flat if self.dense else seg.starts[:-1][flat // width] + flat % width
        return ordered, rows

    def transform(self, x: np.ndarray, fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """fn(tie-kept percentile rank) of x (m,) without NaN, per segment -> (m,) float64."""
        return self.transform_many(x, (fn,))[0]

    def transform_many(
        self, x: np.ndarray, fns: tuple[Callable[[np.ndarray], np.ndarray], ...]
    ) -> list[np.ndarray]:
        """[fn(rank(x)) for fn in fns], sorting x (m,) only once."""
        if self.m == 0:
            return [np.empty(0, dtype=np.float64) for _ in fns]
        ordered, rows = self._sorted(np.asarray(x, dtype=np.float64))
        del x
        new_group = np.empty(self.m, dtype=bool)
        new_group[0] = True
        np.not_equal(ordered[1:], ordered[:-1], out=new_group[1:])
        del ordered
        outs = [np.empty(self.m, dtype=np.float64) for _ in fns]
        new_group |= self.era_first
        if new_group.all():
            for out, fn in zip(outs, fns, strict=True):
                out[rows] = self._tie_free(fn)
            return outs
        first = np.flatnonzero(new_group)
        last = np.append(first[1:], self.m) - 1
        seg_of_group = self.seg.segment_of_row[first]
        offset = self.seg.starts[:-1][seg_of_group]
        avg = (first - offset + last - offset) / 2 + 1
        pct = (avg - 0.5) / self.seg.counts[seg_of_group]
        group = np.cumsum(new_group) - 1
        for out, fn in zip(outs, fns, strict=True):
            out[rows] = fn(pct)[group]
        return outs

    def rank(self, x: np.ndarray) -> np.ndarray:
        """Tie-kept percentile rank of x (m,) per segment."""
        return self.transform(x, _identity)


def map_columns(fn: Callable[[int], np.ndarray], k: int) -> list[np.ndarray]:
    """[fn(0), ..., fn(k - 1)] on up to ``os.cpu_count()`` threads (numpy releases the GIL)."""
    workers = min(k, os.cpu_count() or 1)
    if workers <= 1:
        return [fn(j) for j in range(k)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, range(k)))


def _identity(x: np.ndarray) -> np.ndarray:
    return x


def segment_rank(x: np.ndarray, seg: Segments) -> np.ndarray:
    """Tie-kept percentile rank per segment, ``(rank(average) - 0.5) / count``: x (m,)
    without NaN, sorted by segment -> (m,) float64 (see :class:`Ranker`)."""
    return Ranker(seg).rank(x)


def gaussian_power(ranks: np.ndarray) -> np.ndarray:
    """``power(gaussian(ranks), 1.5)``: numerai_corr's transform of ranked predictions."""
    return power(gaussian(ranks))


def gaussian(ranks: np.ndarray) -> np.ndarray:
    """Inverse normal CDF (scipy's ``norm.ppf``, i.e. ``ndtri``) of ranks in (0, 1)."""
    return np.asarray(special.ndtri(ranks), dtype=np.float64)


def power(x: np.ndarray, p: float = 1.5) -> np.ndarray:
    """``sign(x) * |x| ** p``, as numerai-tools' ``power``."""
    if p == 1.5:  # x * sqrt(|x|): within 1 ulp of the power, several times faster
        return np.asarray(x * np.sqrt(np.abs(x)), dtype=np.float64)
    return np.asarray(np.sign(x) * np.abs(x) ** p, dtype=np.float64)
