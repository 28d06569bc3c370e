"""Rank-gauss ensembling per era, and scaling into Numerai's (0, 1) submission range.

These functions use only numpy and scipy so that a model upload pickle can carry them
by value into Numerai's runtime without importing numerpilot.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri
from scipy.stats import rankdata


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
