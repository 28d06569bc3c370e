"""Summary statistics of a per-era score series, as Numerai's examples compute them."""

from __future__ import annotations

import numpy as np


def max_drawdown(values: np.ndarray) -> float:
    """Largest fall of the cumulative score from its running peak (>= 0)."""
    cum = np.cumsum(values)
    return float(np.max(np.maximum.accumulate(cum) - cum)) if len(cum) else 0.0


def summarize(values: np.ndarray) -> dict[str, float]:
    """mean, std (ddof=0), sharpe, max drawdown and share of positive eras of (E,) values."""
    v = np.asarray(values, dtype=np.float64)
    mean, std = float(v.mean()), float(v.std())
    return {
        "mean": mean,
        "std": std,
        "sharpe": mean / std if std > 0 else float("nan"),
        "max_drawdown": max_drawdown(v),
        "positive_share": float((v > 0).mean()),
        "n_eras": int(len(v)),
    }
