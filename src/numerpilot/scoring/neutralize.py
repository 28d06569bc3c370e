"""Per-era neutralization (exact to numerai-tools' ``neutralize``), FNC and feature exposure.

numerai-tools solves ``lstsq([N, 1], x, rcond=1e-6)`` per era (an SVD of an n x f matrix).
Here each era's features are centred and the least-squares fit is solved through the normal
equations with a Cholesky factorisation: the Gram matrix of small integer features is
computed exactly in float32 (products and partial sums are integers below 2**24), everything
else in float64. Features that are constant within an era are dropped (their span is the
constant column's). An era whose Gram matrix is near-singular (a pivot keeps less than 1e-10
of its column's variance) falls back to numerai-tools' exact ``lstsq``.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy import linalg

from numerpilot.scoring.per_era import PerEra, as_matrix, per_era_corr
from numerpilot.scoring.segments import (
    MAX_FILTERED_RATIO,
    EraGroups,
    Ranker,
    gaussian,
)

log = logging.getLogger(__name__)

_PIVOT_FLOOR = 1e-10
_FLOAT32_EXACT = 2**24
_NOISE = 1e-9


@dataclass(frozen=True)
class _EraFit:
    """Least-squares projection onto span([N, 1]) of one era (n_e rows, f features).

    With centred features Nc = N - mu, the fit of x is mean(x) + Nc beta where
    (Nc^T Nc) beta = Nc^T (x - mean(x)) = N^T (x - mean(x)); so N itself is all that is kept.
    """

    features: np.ndarray  # (n_e, f) float64: the era's neutralizers
    mu: np.ndarray  # (f,) column means
    keep: np.ndarray  # (f,) bool: feature not constant in the era
    col_norm2: np.ndarray  # (f,) squared norms of the centred columns
    chol: tuple[np.ndarray, bool] | None  # Cholesky of the centred Gram; None -> lstsq

    def fitted(self, x: np.ndarray) -> np.ndarray:
        """Projection of x (n_e, k) onto span([N, 1]) -> (n_e, k)."""
        if self.chol is None:
            ones = np.ones((len(self.features), 1))
            design = np.hstack([self.features, ones])
            beta = np.linalg.lstsq(design, x, rcond=1e-6)[0]
            return np.asarray(design @ beta)
        mean = x.mean(axis=0)
        if self.features.shape[1] == 0:
            return np.broadcast_to(mean, x.shape).copy()
        rhs = self.features.T @ (x - mean)
        rhs[~self.keep] = 0.0
        beta = linalg.cho_solve(self.chol, rhs, check_finite=False)
        return np.asarray(self.features @ beta + (mean - self.mu @ beta))

    def exposures(self, x: np.ndarray) -> np.ndarray:
        """Pearson correlation of x (n_e, k) with each non-constant feature -> (f', k)."""
        xc = x - x.mean(axis=0)
        cov = (self.features.T @ xc)[self.keep]
        with np.errstate(divide="ignore", invalid="ignore"):
            denom = np.sqrt(np.outer(self.col_norm2[self.keep], (xc * xc).sum(axis=0)))
            return np.asarray(cov / denom)


def _gram(block: np.ndarray, b64: np.ndarray) -> np.ndarray:
    """N^T N of an (n_e, f) block, exactly in float32 when its values are small integers."""
    if np.issubdtype(block.dtype, np.integer) and block.size:
        bound = int(max(abs(int(block.min())), abs(int(block.max()))))
        if bound * bound * len(block) < _FLOAT32_EXACT:
            b32 = block.astype(np.float32)
            return np.asarray(b32.T @ b32, dtype=np.float64)
    return np.asarray(b64.T @ b64)


def _era_fit(block: np.ndarray) -> _EraFit:
    """Prepare the projection of one era's neutralizers (n_e, f)."""
    n, f = block.shape
    b64 = np.asarray(block, dtype=np.float64)
    sums = b64.sum(axis=0)
    keep = block.min(axis=0) != block.max(axis=0) if n else np.zeros(f, dtype=bool)
    gram = _gram(block, b64) - np.outer(sums, sums) / n
    col_norm2 = np.where(keep, np.diag(gram), 0.0)
    gram[~keep, :] = 0.0
    gram[:, ~keep] = 0.0
    gram[~keep, ~keep] = 1.0  # dropped features: identity rows, beta 0
    chol: tuple[np.ndarray, bool] | None = None
    if f == 0:
        chol = (np.zeros((0, 0)), True)
    else:
        try:
            factor = linalg.cho_factor(gram, lower=True, check_finite=False)
            pivots = np.diag(factor[0]) ** 2 / np.diag(gram)
            if np.all(pivots > _PIVOT_FLOOR):
                chol = factor
        except linalg.LinAlgError:
            chol = None
        if chol is None:
            log.info("near-singular neutralizers in an era: using lstsq")
    return _EraFit(b64, sums / n, keep, col_norm2, chol)


def _neutralize_era(x: np.ndarray, fit: _EraFit, proportion: float) -> np.ndarray:
    """numerai-tools' ``neutralize`` of x (n_e, k) for one era (constant columns -> NaN)."""
    out = x - proportion * fit.fitted(x)
    spread = x.std(axis=0)
    # constant columns are NaN in numerai-tools; a column the neutralizers fit exactly
    # (more features than rows) leaves rounding noise, also NaN here
    degenerate = (spread == 0) | (out.std(axis=0) <= _NOISE * spread)
    if degenerate.any():
        out[:, degenerate] = np.nan
    return np.asarray(out)


def for_each_era(fn: Callable[[int], None], n_eras: int) -> None:
    """fn(0), ..., fn(n_eras - 1) on one thread per core, each with a single-threaded BLAS.

    Eras are independent and each one's linear algebra is small: one era per core scales,
    whereas a multi-threaded BLAS per era thrashes as soon as the cores are shared.
    """
    workers = min(n_eras, os.cpu_count() or 1)
    with _single_threaded_blas():
        if workers <= 1:
            for e in range(n_eras):
                fn(e)
            return
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for _ in pool.map(fn, range(n_eras)):
                pass


def _single_threaded_blas() -> contextlib.AbstractContextManager[object]:
    try:  # threadpoolctl comes with scikit-learn (a numerai-tools dependency)
        module = importlib.import_module("threadpoolctl")
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    limits: contextlib.AbstractContextManager[object] = module.threadpool_limits(
        limits=1, user_api="blas"
    )
    return limits


def neutralize_by_era(
    x: np.ndarray,
    neutralizers: np.ndarray,
    eras: np.ndarray,
    proportion: float = 1.0,
) -> np.ndarray:
    """numerai-tools' ``neutralize`` applied within each era.

    x (n, k) or (n,) float without NaN; neutralizers (n, f) (int8 features or floats);
    eras (n,). Returns (n, k) float64 in the input row order: x minus ``proportion`` times its
    least-squares fit on the era's neutralizers plus a constant. A column that is constant
    within an era becomes NaN there, as in numerai-tools.
    """
    xm = as_matrix(x, len(eras))
    if np.isnan(xm).any():
        raise ValueError("x contains NaN; neutralization needs complete columns")
    n_mat = np.asarray(neutralizers)
    if n_mat.ndim == 1:
        n_mat = n_mat[:, None]
    groups = EraGroups.from_eras(eras)
    out = np.empty_like(xm)
    starts = groups.segments.starts

    def one_era(e: int) -> None:
        rows = groups.order[starts[e] : starts[e + 1]]
        out[rows] = _neutralize_era(xm[rows], _era_fit(n_mat[rows]), proportion)

    for_each_era(one_era, len(groups.labels))
    return out


@dataclass(frozen=True)
class FeatureScores:
    """FNC (E, k) and max |feature correlation| per era (E', k) of k prediction columns."""

    fnc: PerEra
    exposure: PerEra


#: Decimals kept of variance-normalized neutral predictions before FNC re-ranks them.
TIE_DECIMALS = 12


def feature_scores(
    predictions: np.ndarray,
    features: np.ndarray,
    target: np.ndarray,
    eras: np.ndarray,
    *,
    proportion: float = 1.0,
    max_filtered_ratio: float = MAX_FILTERED_RATIO,
) -> FeatureScores:
    """FNC (numerai-tools' ``feature_neutral_corr``) and max feature exposure per era.

    predictions (n, k); features (n, f) (int8 or float); target (n,) with NaN; eras (n,).
    FNC: tie-kept rank, gaussianize, neutralize against the era's features, variance
    normalize, then numerai_corr. Exposure: max over features of |Pearson(pred, feature)|
    (numerai-tools' ``max_feature_correlation``) of the raw predictions, features constant
    in the era ignored. One pass over the eras computes both.
    """
    t_all = np.asarray(target, dtype=np.float64)
    preds = as_matrix(predictions, len(t_all))
    feats = np.asarray(features)
    groups = EraGroups.from_eras(eras)
    sel = groups.select(~np.isnan(preds).any(axis=1), max_filtered_ratio)
    seg = sel.segments
    k = preds.shape[1]
    neutral = np.empty((len(sel.rows), k))
    exposure = np.full((len(sel.labels), k), np.nan)
    ranker = Ranker(seg)
    for j in range(k):
        neutral[:, j] = ranker.transform(sel.column(preds, j), gaussian)

    def one_era(e: int) -> None:
        lo, hi = int(seg.starts[e]), int(seg.starts[e + 1])
        rows = sel.rows[lo:hi]
        fit = _era_fit(feats[rows])
        block = _neutralize_era(neutral[lo:hi], fit, proportion)
        with np.errstate(divide="ignore", invalid="ignore"):
            # Snap to 1e-12 (values have unit variance): rows that are mathematically tied
            # after neutralization stay tied instead of being ranked by rounding noise.
            neutral[lo:hi] = np.round(block / block.std(axis=0), TIE_DECIMALS)
        if fit.keep.any():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                exposure[e] = np.nanmax(np.abs(fit.exposures(preds[rows])), axis=0)

    for_each_era(one_era, len(sel.labels))
    era_of_row = seg.spread(sel.labels)
    # a column constant in an era is NaN there; as zeros it is constant again -> NaN CORR
    fnc = per_era_corr(
        np.nan_to_num(neutral, nan=0.0),
        sel.column(t_all),
        era_of_row,
        max_filtered_ratio=max_filtered_ratio,
    )
    skipped = tuple(sorted(set(sel.skipped.tolist()) | set(fnc.skipped)))
    return FeatureScores(
        PerEra(fnc.eras, fnc.values, skipped),
        PerEra(sel.labels, exposure, tuple(sel.skipped.tolist())),
    )
