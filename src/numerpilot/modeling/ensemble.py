"""The ensemble's arithmetic: per-era ranks, rank-gauss averaging, neutralization.

``numerpilot predict`` and model-upload pickles run exactly these functions. The module
uses only numpy and scipy (no numerpilot imports, no module state) so that cloudpickle can
carry it by value into Numerai's runtime: keep it that way.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg
from scipy.special import ndtri
from scipy.stats import rankdata

_PIVOT_FLOOR = 1e-10
_FLOAT32_EXACT = 2**24


def era_codes(eras: np.ndarray) -> np.ndarray:
    """Integer code (n,) of each row's era."""
    return np.unique(eras, return_inverse=True)[1].reshape(-1)


def rank_by_era(x: np.ndarray, eras: np.ndarray) -> np.ndarray:
    """Tie-kept percentile rank ``(rank - 0.5) / count`` of each column within each era.

    x: (n,) or (n, k) float; returns the same shape with values in (0, 1).
    """
    x2 = np.asarray(x, dtype=np.float64).reshape(len(eras), -1)
    out = np.empty_like(x2)
    codes = era_codes(eras)
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    for rows in np.split(order, bounds):
        out[rows] = (rankdata(x2[rows], axis=0) - 0.5) / len(rows)
    return out.reshape(np.shape(x))


def rank_gauss_by_era(x: np.ndarray, eras: np.ndarray) -> np.ndarray:
    """Gaussianised per-era ranks: each column of each era becomes ~N(0, 1)."""
    return np.asarray(ndtri(rank_by_era(x, eras)))


def ensemble(predictions: np.ndarray, eras: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted mean of per-era rank-gauss scores of the k models: (n, k) -> (n,)."""
    w = np.asarray(weights, dtype=np.float64)
    return np.asarray(rank_gauss_by_era(predictions, eras) @ (w / w.sum()))


def _gram(block: np.ndarray) -> np.ndarray:
    """N^T N, exactly in float32 when N holds small integers (Numerai's int8 features)."""
    if np.issubdtype(block.dtype, np.integer) and block.size:
        bound = int(max(abs(int(block.min())), abs(int(block.max()))))
        if bound * bound * len(block) < _FLOAT32_EXACT:
            b32 = block.astype(np.float32)
            return np.asarray(b32.T @ b32, dtype=np.float64)
    b64 = block.astype(np.float64)
    return np.asarray(b64.T @ b64)


def _fitted(block: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Least-squares fit of x (n, k) on [block, 1] (n, f + 1), as numerai-tools computes it.

    Normal equations on centred, non-constant features with a Cholesky solve; an
    ill-conditioned era falls back to numerai-tools' own ``lstsq(rcond=1e-6)``.
    """
    n = len(block)
    sums = block.sum(axis=0, dtype=np.float64)
    centred = block.astype(np.float64) - sums / n
    keep = np.einsum("ij,ij->j", centred, centred) > 0
    gram = (_gram(block) - np.outer(sums, sums) / n)[np.ix_(keep, keep)]
    centred = centred[:, keep]
    mean = x.mean(axis=0)
    if not len(gram):
        return np.broadcast_to(mean, x.shape).copy()
    try:
        chol = linalg.cho_factor(gram, lower=True, check_finite=False)
        stable = bool(np.all(np.diag(chol[0]) ** 2 / np.diag(gram) > _PIVOT_FLOOR))
    except linalg.LinAlgError:
        stable = False
    if not stable:
        design = np.hstack([block.astype(np.float64), np.ones((n, 1))])
        return np.asarray(design @ np.linalg.lstsq(design, x, rcond=1e-6)[0])
    beta = linalg.cho_solve(chol, centred.T @ (x - mean), check_finite=False)
    return np.asarray(centred @ beta + mean)


def neutralize_by_era(
    x: np.ndarray, neutralizers: np.ndarray, eras: np.ndarray, proportion: float
) -> np.ndarray:
    """numerai-tools' ``neutralize`` within each era: x (n,) or (n, k) -> (n, k).

    A column that is constant within an era becomes NaN there, as in numerai-tools.
    """
    xm = np.asarray(x, dtype=np.float64).reshape(len(eras), -1)
    out = np.empty_like(xm)
    for label in np.unique(eras):
        rows = np.flatnonzero(eras == label)
        block = xm[rows]
        done = block - proportion * _fitted(neutralizers[rows], block)
        done[:, block.std(axis=0) == 0] = np.nan
        out[rows] = done
    return out
