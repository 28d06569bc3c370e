"""Per-era neutralization, exact to numerai-tools' ``neutralize``."""

from __future__ import annotations

import numpy as np


def neutralize(x: np.ndarray, neutralizers: np.ndarray, proportion: float = 1.0) -> np.ndarray:
    """Remove ``proportion`` of the least-squares fit of x (n, k) on neutralizers (n, f) + 1."""
    design = np.hstack([neutralizers.astype(np.float64), np.ones((len(neutralizers), 1))])
    beta = np.linalg.lstsq(design, x, rcond=1e-6)[0]
    return np.asarray(x - proportion * (design @ beta))


def neutralize_by_era(
    x: np.ndarray, neutralizers: np.ndarray, eras: np.ndarray, proportion: float = 1.0
) -> np.ndarray:
    """:func:`neutralize` applied within each era; x (n, k) float, neutralizers (n, f)."""
    x = np.asarray(x, dtype=np.float64).reshape(len(eras), -1)
    out = np.empty_like(x)
    for era in np.unique(eras):
        m = eras == era
        out[m] = neutralize(x[m], neutralizers[m], proportion)
    return out
