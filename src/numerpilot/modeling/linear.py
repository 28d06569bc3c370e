"""Ridge-regression members fitted on the int8 features, ridge penalty chosen on era folds.

Boosted trees of depth 5 that see a tenth of the features per tree approximate a dense
linear signal poorly; a ridge regression on all features captures it directly, and the
ensemble's weights (fitted on held-out eras) decide how much of it to use. The target is
gaussianised per era (what is scored is per-era rank correlation, so only the order within
an era matters; rows of an unknown target count as the era's middle, 0).

Everything comes from the moments of the rows (X'X, X'y, sums): one pass over all rows
and one over each split's excluded eras, in float64 batches, whatever the number of
penalties tried. A split's fit moments are the total less its excluded rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerpilot.kernel.eras import EraIndex
from numerpilot.kernel.linear import linear_text
from numerpilot.kernel.ranks import rank_gauss_by_era
from numerpilot.modeling.cv import EraSplit

#: Ridge penalties tried, as a share of the mean feature variance.
PENALTIES = tuple(float(10**e) for e in np.arange(-2.5, 2.01, 0.5))
#: Bytes of one float64 batch of rows.
_BATCH_BYTES = 16 * 2**20


@dataclass(frozen=True)
class Moments:
    """Sums over rows: n, x (f,), y (k,), xx (f, f), xy (f, k)."""

    n: float
    x: np.ndarray
    y: np.ndarray
    xx: np.ndarray
    xy: np.ndarray

    def __sub__(self, other: Moments) -> Moments:
        return Moments(
            self.n - other.n, self.x - other.x, self.y - other.y, self.xx - other.xx,
            self.xy - other.xy,
        )  # fmt: skip


def moments(features: np.ndarray, y: np.ndarray, rows: np.ndarray) -> Moments:
    """Moments of ``rows`` of features (n, f) int8 and targets y (n, k) (no NaN)."""
    f, k = features.shape[1], y.shape[1]
    out = Moments(0.0, np.zeros(f), np.zeros(k), np.zeros((f, f)), np.zeros((f, k)))
    size = max(256, _BATCH_BYTES // (8 * max(1, f)))
    for start in range(0, len(rows), size):
        part = rows[start : start + size]
        x = np.asarray(features[part], dtype=np.float64)
        t = y[part]
        out.xx[...] += x.T @ x
        out.xy[...] += x.T @ t
        out.x[...] += x.sum(axis=0)
        out.y[...] += t.sum(axis=0)
    return Moments(float(len(rows)), out.x, out.y, out.xx, out.xy)


@dataclass(frozen=True)
class Ridge:
    """Ridge solutions of one set of moments for every penalty: coef (L, f, k), intercept
    (L, k)."""

    coef: np.ndarray
    intercept: np.ndarray

    @classmethod
    def solve(cls, m: Moments, penalties: tuple[float, ...]) -> Ridge:
        mx, my = m.x / m.n, m.y / m.n
        cxx = m.xx / m.n - np.outer(mx, mx)
        cxy = m.xy / m.n - np.outer(mx, my)
        d, v = np.linalg.eigh(cxx)
        scale = max(float(np.mean(np.diag(cxx))), 1e-12)
        proj = v.T @ cxy
        coef = np.stack([v @ (proj / (np.maximum(d, 0) + p * scale)[:, None]) for p in penalties])
        return cls(coef, my[None, :] - np.einsum("f,lfk->lk", mx, coef))

    def predict(self, features: np.ndarray, rows: np.ndarray, target: int) -> np.ndarray:
        """Predictions (len(rows), L) of every penalty for one target."""
        out = np.empty((len(rows), self.coef.shape[0]))
        size = max(256, _BATCH_BYTES // (8 * max(1, features.shape[1])))
        for start in range(0, len(rows), size):
            x = np.asarray(features[rows[start : start + size]], dtype=np.float64)
            out[start : start + len(x)] = x @ self.coef[:, :, target].T + self.intercept[:, target]
        return out


def gauss_targets(y: np.ndarray, eras: np.ndarray) -> np.ndarray:
    """Targets (n, k) gaussianised per era on their known rows; unknown rows 0."""
    out = np.zeros(y.shape)
    for j in range(y.shape[1]):
        known = ~np.isnan(y[:, j])
        if known.any():
            index = EraIndex.from_eras(eras[known])
            out[known, j] = rank_gauss_by_era(y[known, j], index)
    return out


@dataclass(frozen=True)
class LinearFit:
    """One target's linear member: the chosen penalty, its held-out mean per-era CORR, the
    held-out predictions (n,) (NaN outside the held-out eras) and the final model text."""

    penalty: float
    score: float
    preds: np.ndarray
    model_text: str


def fit_linear(
    features: np.ndarray,
    y: np.ndarray,
    eras: np.ndarray,
    splits: list[EraSplit],
    final: EraSplit,
    penalties: tuple[float, ...] = PENALTIES,
) -> list[LinearFit]:
    """A ridge member per target column of y (n, k): the penalty whose held-out
    predictions over ``splits`` score best (mean per-era correlation with the target),
    then one fit with it on the eras of ``final.fit``.

    features (n, f) int8; eras (n,). Every split's held-out predictions come from a model
    that saw none of its held-out or excluded (embargo) eras.
    """
    g = gauss_targets(y, eras)
    all_rows = np.arange(len(eras))
    total = moments(features, g, all_rows)
    k = y.shape[1]
    # Per split: its ridges and the per-era CORR of every penalty (held-out eras of
    # different splits are disjoint); predictions are kept for the chosen penalty only.
    fitted: list[tuple[np.ndarray, Ridge]] = []
    era_scores: list[list[np.ndarray]] = [[] for _ in range(k)]
    for split in splits:
        excluded = np.flatnonzero(~np.isin(eras, split.fit))
        ridge = Ridge.solve(total - moments(features, g, excluded), penalties)
        hold = np.flatnonzero(np.isin(eras, split.holdout))
        fitted.append((hold, ridge))
        for j in range(k):
            era_scores[j].append(
                _era_corrs(ridge.predict(features, hold, j), y[hold, j], eras[hold])
            )
    rest = np.flatnonzero(~np.isin(eras, final.fit))
    last = total - moments(features, g, rest) if len(rest) else total
    every = Ridge.solve(last, penalties)  # one eigen-decomposition for every target
    out = []
    for j in range(k):
        scores = np.nanmean(np.concatenate(era_scores[j]), axis=0)
        best = int(np.argmax(np.nan_to_num(scores, nan=-np.inf)))
        preds = np.full(len(eras), np.nan)
        for hold, ridge in fitted:
            preds[hold] = ridge.predict(features, hold, j)[:, best]
        text = linear_text(every.coef[best, :, j], float(every.intercept[best, j]))
        out.append(LinearFit(penalties[best], float(scores[best]), preds, text))
    return out


def _era_corrs(preds: np.ndarray, y: np.ndarray, eras: np.ndarray) -> np.ndarray:
    """Per-era Pearson correlation (E, L) of every column of preds (m, L) with y (m,),
    on the rows where y is known (NaN for an era without variance)."""
    ok = ~np.isnan(y)
    preds, y = preds[ok], y[ok]
    codes = np.unique(eras[ok], return_inverse=True)[1].reshape(-1)
    n = np.bincount(codes).astype(np.float64)
    p = preds - (np.stack([np.bincount(codes, c) for c in preds.T], 1) / n[:, None])[codes]
    t = y - (np.bincount(codes, y) / n)[codes]
    cov = np.stack([np.bincount(codes, c * t) for c in p.T], 1)
    var_p = np.stack([np.bincount(codes, c * c) for c in p.T], 1)
    den = np.sqrt(var_p * np.bincount(codes, t * t)[:, None])
    return np.asarray(np.divide(cov, den, out=np.full(cov.shape, np.nan), where=den > 0))
