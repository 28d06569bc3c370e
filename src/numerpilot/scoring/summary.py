"""Summary statistics of per-era score series, and the payout estimate per era."""

from __future__ import annotations

import logging

import numpy as np

from numerpilot.scoring.per_era import PerEra

log = logging.getLogger(__name__)


def max_drawdown(values: np.ndarray) -> float:
    """Largest fall of the cumulative score from its running peak: max(cummax(cumsum) - cumsum),
    a number >= 0 (0 for an empty series)."""
    cum = np.cumsum(np.asarray(values, dtype=np.float64))
    return float(np.max(np.maximum.accumulate(cum) - cum)) if len(cum) else 0.0


def autocorrelation(values: np.ndarray) -> float:
    """Lag-1 autocorrelation of (E,) values: Pearson of v[:-1] and v[1:] (NaN if undefined)."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) < 3:
        return float("nan")
    a, b = v[:-1] - v[:-1].mean(), v[1:] - v[1:].mean()
    denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denom) if denom > 0 else float("nan")


#: Per-era statistics may correlate with those up to this many eras away (a 60-day target
#: spans about 12 weekly eras).
MAX_LAG = 12


def era_inflation(series: np.ndarray, lags: int = MAX_LAG) -> float:
    """How much correlation between neighbouring eras inflates the variance of a mean over
    the E eras of series (E, k) (per-era values of k statistics, eras in time order), pooled
    over the k: 1 + 2 sum_l (1 - l / (L + 1)) rho_l, Newey-West's (Bartlett) weights over
    L = min(``lags``, E // 4) lags. At least 1: independent eras, or eras whose
    neighbours disagree, keep the plain test."""
    x = series - series.mean(axis=0)
    var, lags = float(np.sum(x * x)), min(lags, len(x) // 4)
    if var <= 0:
        return 1.0
    rho = [float(np.sum(x[lag:] * x[:-lag])) / var for lag in range(1, lags + 1)]
    return max(1.0, 1 + 2 * sum((1 - lag / (lags + 1)) * r for lag, r in enumerate(rho, 1)))


def summarize(values: np.ndarray) -> dict[str, float]:
    """Summary of (E,) per-era values, NaN eras left out (counted in n_eras).

    Keys: mean, std (ddof=0), sharpe (mean/std, NaN when std is 0), max_drawdown (>= 0),
    positive_share, autocorr (lag 1), n_eras (eras summarised).
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    finite = np.isfinite(v)
    if not finite.all():
        # Reports state the eras counted (and why eras were skipped) themselves.
        log.debug("%d of %d eras have no score (NaN) and are left out", (~finite).sum(), len(v))
        v = v[finite]
    if len(v) == 0:
        nan = float("nan")
        return {
            "mean": nan,
            "std": nan,
            "sharpe": nan,
            "max_drawdown": nan,
            "positive_share": nan,
            "autocorr": nan,
            "n_eras": 0,
        }
    mean, std = float(v.mean()), float(v.std())
    return {
        "mean": mean,
        "std": std,
        "sharpe": mean / std if std > 0 else float("nan"),
        "max_drawdown": max_drawdown(v),
        "positive_share": float((v > 0).mean()),
        "autocorr": autocorrelation(v),
        "n_eras": len(v),
    }


def payout(
    corr: PerEra,
    mmc: PerEra,
    *,
    corr_multiplier: float = 0.75,
    mmc_multiplier: float = 2.25,
    clip: float = 0.05,
) -> PerEra:
    """Payout per era as a fraction of stake: clip(cm*CORR + mm*MMC, -clip, +clip).

    Only eras scored by both ``corr`` and ``mmc`` (same k columns) are returned.
    """
    common, ic, im = np.intersect1d(corr.eras, mmc.eras, return_indices=True)
    raw = corr_multiplier * corr.values[ic] + mmc_multiplier * mmc.values[im]
    return PerEra(common, np.clip(raw, -clip, clip), mmc.skipped)
