"""Ensemble weights fitted on out-of-sample per-era scores of the members.

Equal weights let a weak target drag the ensemble below its best member. Instead, on
eras none of the members was fit on (out-of-fold predictions of era folds, or the
embargoed holdout), numerpilot finds the non-negative weights that maximise the
ensemble's mean per-era correlation with the main target, then shrinks them toward the
main target's model alone (what Numerai's example recipe trains), a tenth of the way: the
ensemble leans on the auxiliary targets and the linear members only as far as held-out
eras show they help. A member whose held-out score is not clearly positive gets no
weight at all (except the main target's trees); "clearly" counts neighbouring eras that
share their targets' noise (Numerai's 20-day targets span four weekly eras) as the
evidence they are, not as independent eras (:func:`~numerpilot.scoring.summary.era_inflation`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerpilot.kernel.eras import EraIndex
from numerpilot.kernel.ranks import rank_gauss_by_era
from numerpilot.scoring.summary import era_inflation

#: A member is kept when its mean per-era CORR on the holdout is at least this many
#: standard errors (allowing for correlated neighbouring eras) above zero ...
MIN_T_STAT = 1.0
#: ... and at least this share of the best member's mean.
MIN_SHARE_OF_BEST = 0.25
#: Fitted weights are mixed with the prior (the main target's model alone, else equal
#: weights over the kept members) in this proportion, on era folds and on one holdout alike
#: (halfway on a holdout lost to a tenth on every family measured: docs/recipe-history.md).
SHRINK = 0.1
#: Weights below this share are dropped (the member is not worth its prediction time).
MIN_WEIGHT = 0.03


@dataclass(frozen=True)
class EraMoments:
    """Per-era moments of k rank-gaussianised members G and a target y over E eras.

    cov: (E, k) cov(G_j, y); gram: (E, k, k) cov(G_i, G_j); var_y: (E,) var(y).
    """

    cov: np.ndarray
    gram: np.ndarray
    var_y: np.ndarray

    @classmethod
    def of(cls, members: np.ndarray, y: np.ndarray, index: EraIndex) -> EraMoments:
        """members: (n, k) raw predictions; y: (n,) target, no NaN; rows grouped by ``index``."""
        g = index.take(rank_gauss_by_era(members, index))
        t = index.take(y)
        n = index.counts.astype(np.float64)
        g = g - index.spread(index.sum(g) / n[:, None])
        t = t - index.spread(index.sum(t) / n)
        cov = index.sum(g * t[:, None])
        gram = index.sum(g[:, :, None] * g[:, None, :])
        var_y = index.sum(t * t)
        return cls(cov / n[:, None], gram / n[:, None, None], var_y / n)

    def era_corr(self, w: np.ndarray) -> np.ndarray:
        """Per-era Pearson correlation (E,) of the ensemble ``G @ w`` with y."""
        num = self.cov @ w
        with np.errstate(invalid="ignore"):  # a variance of -1e-17 (rounding): no correlation
            den = np.sqrt(np.einsum("eij,i,j->e", self.gram, w, w) * self.var_y)
        return np.asarray(np.divide(num, den, out=np.zeros_like(num), where=den > 0))

    def member_corr(self) -> np.ndarray:
        """Per-era correlation (E, k) of every member alone."""
        k = self.cov.shape[1]
        return np.stack([self.era_corr(np.eye(k)[j]) for j in range(k)], 1)


def _best_simplex_weights(moments: EraMoments, keep: np.ndarray) -> np.ndarray:
    """Non-negative weights summing to one over ``keep`` that maximise the mean per-era
    correlation (exponentiated gradient ascent; the objective is smooth and k is small)."""
    k = len(keep)
    w: np.ndarray = np.asarray(keep / keep.sum(), dtype=np.float64)
    step, eps = 2.0, 1e-4
    for _ in range(300):
        base = moments.era_corr(w).mean()
        grad = np.array(
            [(moments.era_corr(w + eps * np.eye(k)[j]).mean() - base) / eps if keep[j] else 0.0
             for j in range(k)]
        )  # fmt: skip
        new = w * np.exp(step * (grad - grad[keep > 0].mean())) * keep
        new /= new.sum()
        done = np.abs(new - w).max() < 1e-6
        w = np.asarray(new, dtype=np.float64)
        if done:
            break
    return w


@dataclass(frozen=True)
class WeightFit:
    """Chosen weights (k,), each member's holdout mean CORR and t-statistic, and the
    holdout mean CORR of the weighted and of the equal-weight ensemble."""

    weights: np.ndarray
    member_mean: np.ndarray
    member_t: np.ndarray
    ensemble_mean: float
    equal_mean: float


def fit_weights(
    members: np.ndarray,
    y: np.ndarray,
    index: EraIndex,
    always: int | None = None,
    shrink: float = SHRINK,
) -> WeightFit:
    """Ensemble weights (k,) summing to one, from holdout predictions ``members`` (n, k)
    and the main target ``y`` (n,) of the same rows (grouped by ``index``).

    Member ``always`` (the model of the main target, which is what Numerai scores) is kept
    whatever its holdout score: a few dozen eras are not enough evidence to drop it.
    """
    moments = EraMoments.of(members, y, index)
    scores = moments.member_corr()
    mean = scores.mean(axis=0)
    sd = scores.std(axis=0, ddof=1) if len(scores) > 1 else np.ones_like(mean)
    inflation = np.array([era_inflation(scores[:, [j]]) for j in range(scores.shape[1])])
    t = mean / np.where(sd > 0, sd, np.inf) * np.sqrt(len(scores) / inflation)
    keep = (mean > 0) & (t >= MIN_T_STAT) & (mean >= MIN_SHARE_OF_BEST * mean.max())
    if always is not None:
        keep[always] = True
    if not keep.any():  # nothing clearly works: fall back to the best member alone
        keep = mean == mean.max()
    fitted = _best_simplex_weights(moments, keep.astype(np.float64))
    prior = np.eye(len(keep))[always] if always is not None else keep / keep.sum()
    w = (1 - shrink) * fitted + shrink * prior
    w = np.where(w >= MIN_WEIGHT, w, 0.0)
    w /= w.sum()
    k = members.shape[1]
    return WeightFit(
        weights=w,
        member_mean=mean,
        member_t=t,
        ensemble_mean=float(moments.era_corr(w).mean()),
        equal_mean=float(moments.era_corr(np.full(k, 1.0 / k)).mean()),
    )
