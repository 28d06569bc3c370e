"""FNC (feature-neutral CORR) and feature exposure per era, on the kernel's neutralization."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from numerpilot.kernel.eras import EraIndex, as_index
from numerpilot.kernel.neutralize import EraFit, for_each_era
from numerpilot.kernel.ranks import Ranker, gaussian
from numerpilot.scoring.per_era import (
    MAX_FILTERED_RATIO,
    PerEra,
    Selection,
    as_matrix,
    per_era_corr,
)

#: Decimals kept of variance-normalized neutral predictions before FNC re-ranks them.
TIE_DECIMALS = 12


@dataclass(frozen=True)
class FeatureScores:
    """FNC (E, k) and max |feature correlation| per era (E', k) of k prediction columns."""

    fnc: PerEra
    exposure: PerEra


def exposures(fit: EraFit, x: np.ndarray) -> np.ndarray:
    """Pearson correlation of x (n_e, k) with each non-constant feature of the era -> (f', k).

    Each column is first divided by its largest finite |value| (Pearson is scale-free), so
    predictions of 1e300 or 1e-300 do not over- or underflow in their squares."""
    finite = np.where(np.isfinite(x), np.abs(x), 0.0)
    scale = finite.max(axis=0) if len(x) else np.ones(x.shape[1])
    x = x / np.where(scale > 0, scale, 1.0)
    xc = x - x.mean(axis=0)
    cov = (fit.features.T @ xc)[fit.keep]
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = np.sqrt(np.outer(fit.col_norm2[fit.keep], (xc * xc).sum(axis=0)))
        return np.asarray(cov / denom)


def feature_scores(
    predictions: np.ndarray,
    features: np.ndarray,
    target: np.ndarray,
    eras: EraIndex | np.ndarray,
    *,
    proportion: float = 1.0,
    max_filtered_ratio: float = MAX_FILTERED_RATIO,
) -> FeatureScores:
    """FNC (numerai-tools' ``feature_neutral_corr``) and max feature exposure per era.

    predictions (n, k); features (n, f) (int8 or float); target (n,) with NaN; eras (n,)
    labels or their :class:`EraIndex`. FNC: tie-kept rank, gaussianize, neutralize against
    the era's features, variance normalize, then numerai_corr with the era's targets, as
    CORR (rows without a prediction are left out; proportion 0 gives CORR). Exposure: max
    over features of |Pearson(pred, feature)| (numerai-tools' ``max_feature_correlation``)
    of the raw predictions, features constant in the era ignored. One pass over the eras
    does both.
    """
    t_all = np.asarray(target, dtype=np.float64)
    preds = as_matrix(predictions, len(t_all))
    feats = np.asarray(features)
    index = as_index(eras)
    sel = Selection.of(index, ~np.isnan(preds).any(axis=1), max_filtered_ratio)
    sub = sel.index
    k = preds.shape[1]
    ranker = Ranker(sub)
    neutral = np.column_stack([ranker.transform(sub.take(preds[:, j]), gaussian) for j in range(k)])
    exposure = np.full((sub.n_eras, k), np.nan)

    def one_era(e: int) -> None:
        lo, hi = int(sub.starts[e]), int(sub.starts[e + 1])
        rows = sub.rows[lo:hi]
        fit = EraFit.of(feats[rows])
        block = fit.neutralize(neutral[lo:hi], proportion)
        with np.errstate(divide="ignore", invalid="ignore"):
            # Snap to 1e-12 (values have unit variance): rows that are mathematically tied
            # after neutralization stay tied instead of being ranked by rounding noise.
            neutral[lo:hi] = np.round(block / block.std(axis=0), TIE_DECIMALS)
        if fit.keep.any():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                exposure[e] = np.nanmax(np.abs(exposures(fit, preds[rows])), axis=0)

    for_each_era(one_era, sub.n_eras)
    # A column constant in an era is NaN there; as zeros it is constant again -> NaN CORR.
    # Back on every row of the data (NaN where there is no prediction): the target is
    # centred on all of the era's targets, and 80 % of the era scored, as for CORR.
    fnc = per_era_corr(
        sub.put(np.nan_to_num(neutral, nan=0.0)),
        t_all,
        index,
        max_filtered_ratio=max_filtered_ratio,
    )
    skipped = tuple(sorted(set(sel.skipped) | set(fnc.skipped)))
    return FeatureScores(
        PerEra(fnc.eras, fnc.values, skipped), PerEra(sub.labels, exposure, sel.skipped)
    )
