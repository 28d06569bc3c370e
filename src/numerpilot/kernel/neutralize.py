"""Per-era neutralization, exact to numerai-tools' ``neutralize``, and the era thread pool.

numerai-tools solves ``lstsq([N, 1], x, rcond=1e-6)`` per era (an SVD of an n x f matrix).
Here each era's features are centred and the least-squares fit is solved through the normal
equations with a Cholesky factorisation: the Gram matrix of small integer features is
computed exactly in float32 (products and partial sums are integers below 2**24), the rest
in float64. Features constant within an era are dropped (their span is the constant
column's). An era whose Gram matrix is near-singular (a pivot keeps less than 1e-10 of its
column's variance) falls back to numerai-tools' exact ``lstsq``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from numerpilot.kernel.eras import EraIndex, as_index

_PIVOT_FLOOR = 1e-10
_FLOAT32_EXACT = 2**24
#: A neutralized column whose spread falls below this share of the input's is degenerate.
_NOISE = 1e-9


@dataclass(frozen=True)
class EraFit:
    """Least-squares projection onto span([N, 1]) of one era's neutralizers N (n_e, f).

    With centred features Nc = N - mu, the fit of x is mean(x) + Nc beta where
    (Nc^T Nc) beta = N^T (x - mean(x)); so N itself is all that is kept.
    """

    features: np.ndarray  # (n_e, f) float64
    mu: np.ndarray  # (f,) column means
    keep: np.ndarray  # (f,) bool: feature not constant in the era
    col_norm2: np.ndarray  # (f,) squared norms of the centred columns
    chol: tuple[np.ndarray, bool] | None  # Cholesky of the centred Gram; None -> lstsq

    @classmethod
    def of(cls, block: np.ndarray) -> EraFit:
        """Prepare the projection for one era's neutralizers (n_e, f) (int8 or float)."""
        n, f = block.shape
        b64 = np.asarray(block, dtype=np.float64)
        sums = b64.sum(axis=0)
        keep = block.min(axis=0) != block.max(axis=0) if n else np.zeros(f, dtype=bool)
        gram = _gram(block, b64) - np.outer(sums, sums) / max(n, 1)
        col_norm2 = np.where(keep, np.diag(gram), 0.0)
        gram[~keep, :] = 0.0
        gram[:, ~keep] = 0.0
        gram[~keep, ~keep] = 1.0  # dropped features: identity rows, beta 0
        return cls(b64, sums / max(n, 1), keep, col_norm2, _cholesky(gram))

    def fitted(self, x: np.ndarray) -> np.ndarray:
        """Projection of x (n_e, k) onto span([N, 1]) -> (n_e, k)."""
        if self.chol is None:
            design = np.hstack([self.features, np.ones((len(self.features), 1))])
            return np.asarray(design @ np.linalg.lstsq(design, x, rcond=1e-6)[0])
        mean = x.mean(axis=0)
        if self.features.shape[1] == 0:
            return np.broadcast_to(mean, x.shape).copy()
        rhs = self.features.T @ (x - mean)
        rhs[~self.keep] = 0.0
        from scipy.linalg import cho_solve  # imported where used: `score` without FNC skips it

        beta = cho_solve(self.chol, rhs, check_finite=False)
        return np.asarray(self.features @ beta + (mean - self.mu @ beta))

    def neutralize(self, x: np.ndarray, proportion: float) -> np.ndarray:
        """numerai-tools' ``neutralize`` of x (n_e, k): a column constant in the era (or
        fitted exactly, leaving only rounding noise) becomes NaN."""
        out = x - proportion * self.fitted(x)
        spread = x.std(axis=0)
        degenerate = (spread == 0) | (out.std(axis=0) <= _NOISE * spread)
        if degenerate.any():
            out[:, degenerate] = np.nan
        return np.asarray(out)


def _gram(block: np.ndarray, b64: np.ndarray) -> np.ndarray:
    """N^T N of an (n_e, f) block, exactly in float32 when its values are small integers."""
    if np.issubdtype(block.dtype, np.integer) and block.size:
        bound = int(max(abs(int(block.min())), abs(int(block.max()))))
        if bound * bound * len(block) < _FLOAT32_EXACT:
            b32 = block.astype(np.float32)
            return np.asarray(b32.T @ b32, dtype=np.float64)
    return np.asarray(b64.T @ b64)


def _cholesky(gram: np.ndarray) -> tuple[np.ndarray, bool] | None:
    """Cholesky factor of a centred Gram matrix, or None when it is near-singular."""
    if len(gram) == 0:
        return np.zeros((0, 0)), True
    from scipy.linalg import cho_factor

    try:
        factor = cho_factor(gram, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return None
    pivots = np.diag(factor[0]) ** 2 / np.diag(gram)
    return factor if bool(np.all(pivots > _PIVOT_FLOOR)) else None


def workers() -> int:
    """Cores this process may use (its CPU affinity where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def for_each_era(fn: Callable[[int], None], n_eras: int) -> None:
    """fn(0), ..., fn(n_eras - 1) on one thread per core, each with a single-threaded BLAS.

    Eras are independent and each one's linear algebra is small: one era per core scales,
    whereas a multi-threaded BLAS per era thrashes as soon as the cores are shared.
    """
    n_threads = min(n_eras, workers())
    with threadpool_limits(limits=1, user_api="blas"):
        if n_threads <= 1:
            for e in range(n_eras):
                fn(e)
            return
        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            for _ in pool.map(fn, range(n_eras)):
                pass


def neutralize_by_era(
    x: np.ndarray,
    neutralizers: np.ndarray,
    eras: EraIndex | np.ndarray,
    proportion: float = 1.0,
) -> np.ndarray:
    """numerai-tools' ``neutralize`` applied within each era.

    x (n, k) or (n,) without NaN; neutralizers (n, f) (int8 features or floats); eras (n,)
    labels or their :class:`EraIndex`. Returns (n, k) float64 in the input row order: x minus
    ``proportion`` times its least-squares fit on the era's neutralizers plus a constant. A
    column constant within an era becomes NaN there, as in numerai-tools.
    """
    index = as_index(eras)
    xm = np.asarray(x, dtype=np.float64).reshape(index.n, -1)
    if np.isnan(xm).any():
        raise ValueError("x contains NaN; neutralization needs complete columns")
    n_mat = np.asarray(neutralizers)
    if n_mat.ndim == 1:
        n_mat = n_mat[:, None]
    out = np.full_like(xm, np.nan)

    def one_era(e: int) -> None:
        rows = index.era_rows(e)
        out[rows] = EraFit.of(n_mat[rows]).neutralize(xm[rows], proportion)

    for_each_era(one_era, index.n_eras)
    return out
