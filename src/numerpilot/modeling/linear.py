"""Ridge-regression members fitted on the int8 features, ridge penalty chosen on era folds.

Boosted trees of depth 5 that see a tenth of the features per tree approximate a dense
linear signal poorly; a ridge regression on all features captures it directly, and the
ensemble's weights (fitted on held-out eras) decide how much of it to use. The target is
gaussianised per era (what is scored is per-era rank correlation, so only the order within
an era matters; rows of an unknown target count as the era's middle, 0).

Everything comes from the moments of the rows (X'X, X'y, sums): one pass over all rows
and one over each split's excluded eras, in float64 batches, whatever the number of
penalties tried. A split's fit moments are the total less its excluded rows.

Products of two features (and squares) join a split's ridge when their per-era covariance
with the main target on that split's fit eras is significant after a Bonferroni
correction over every pair, or for a square over every feature (:func:`significant_pairs`):
a signal that lives in an interaction has no linear part and escapes trees that split
greedily on one feature at a time. Where no pair clears the bar (a dense linear signal,
weak interactions), the member is the plain ridge. Eras are not independent on Numerai's
data (a 20-day target spans about four weekly eras, and features persist), so the test's
variance is inflated by the per-era sums' correlation with their neighbours
(:func:`era_inflation`), estimated from the data: a pair is not made significant by
counting the same evidence in four eras.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerpilot.kernel.eras import EraIndex
from numerpilot.kernel.linear import linear_text, pair_columns
from numerpilot.kernel.ranks import rank_gauss_by_era
from numerpilot.modeling.cv import EraSplit
from numerpilot.progress import Advance
from numerpilot.scoring.summary import era_inflation

#: Ridge penalties tried, as a share of the mean feature variance.
PENALTIES = tuple(float(10**e) for e in np.arange(-2.5, 2.01, 0.5))
#: Bytes of one float64 batch of rows.
_BATCH_BYTES = 16 * 2**20
#: Family-wise level of the test that admits feature products (Bonferroni over all pairs).
PAIR_ALPHA = 0.01
#: At most this many products (the most significant) join a ridge member.
MAX_PAIRS = 64
#: The products are tested on every n-th row, n chosen so that at most this many rows are
#: used (an f x f product per era: on every row of Numerai's data it would cost as much as
#: the ridge itself; an interaction the trees miss shows on far fewer rows).
SCREEN_ROWS = 200_000
#: The per-era sums' correlation with their neighbours (:func:`era_inflation`) is
#: estimated, pooled, on this many pairs (chosen at random, the same every run).
TRACE_PAIRS = 4096


@dataclass(frozen=True)
class Products:
    """Product columns appended to the features: ``pairs`` (k, 2) feature indices (i <= j)
    of features centred at ``center`` (f,) (their mean over every training row)."""

    pairs: np.ndarray
    center: np.ndarray

    def columns(self, x: np.ndarray) -> np.ndarray:
        return pair_columns(x, self.pairs, self.center[self.pairs])


def _design(features: np.ndarray, rows: np.ndarray, products: Products | None) -> np.ndarray:
    """Rows of the features as float64, with the product columns when there are any."""
    x = np.asarray(features[rows], dtype=np.float64)
    if products is None or not len(products.pairs):
        return x
    return np.hstack([x, products.columns(x)])


def _batch_rows(features: np.ndarray) -> int:
    return max(256, _BATCH_BYTES // (8 * max(1, int(features.shape[1]))))


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

    def subset(self, cols: np.ndarray) -> Moments:
        """The moments of the design's columns ``cols`` alone."""
        return Moments(self.n, self.x[cols], self.y, self.xx[np.ix_(cols, cols)], self.xy[cols])


def moments(features: np.ndarray, y: np.ndarray, rows: np.ndarray) -> Moments:
    """Moments of ``rows`` of features (n, f) int8 and targets y (n, k) (no NaN)."""
    f, k = features.shape[1], y.shape[1]
    out = Moments(0.0, np.zeros(f), np.zeros(k), np.zeros((f, f)), np.zeros((f, k)))
    size = _batch_rows(features)
    for start in range(0, len(rows), size):
        part = rows[start : start + size]
        x = np.asarray(features[part], dtype=np.float64)
        t = y[part]
        out.xx[...] += x.T @ x
        out.xy[...] += x.T @ t
        out.x[...] += x.sum(axis=0)
        out.y[...] += t.sum(axis=0)
    return Moments(float(len(rows)), out.x, out.y, out.xx, out.xy)


def with_products(
    base: Moments, features: np.ndarray, y: np.ndarray, rows: np.ndarray, products: Products | None
) -> Moments:
    """``base`` (the :func:`moments` of the same rows) extended by the product columns:
    only their blocks are summed (k columns against f + k, not f x f again)."""
    if products is None:
        return base
    f, k = features.shape[1], len(products.pairs)
    xp, pp = np.zeros((f, k)), np.zeros((k, k))
    p_sum, py = np.zeros(k), np.zeros((k, y.shape[1]))
    size = _batch_rows(features)
    for start in range(0, len(rows), size):
        part = rows[start : start + size]
        x = np.asarray(features[part], dtype=np.float64)
        p, t = products.columns(x), y[part]
        xp += x.T @ p
        pp += p.T @ p
        py += p.T @ t
        p_sum += p.sum(axis=0)
    xx = np.block([[base.xx, xp], [xp.T, pp]])
    return Moments(base.n, np.concatenate([base.x, p_sum]), base.y, xx, np.vstack([base.xy, py]))


@dataclass(frozen=True)
class Screen:
    """Per-era sums for testing products of the centred features u against a target g of
    zero mean in every era: over the ``eras``, the sums of S_e (f, f) = sum over the era's
    rows of g u u' (``s``) and of S_e squared (``ss``)."""

    eras: int
    s: np.ndarray
    ss: np.ndarray
    #: Variance of a mean over the eras against independent eras (:func:`era_inflation`).
    inflation: float = 1.0

    def __sub__(self, other: Screen) -> Screen:
        return Screen(self.eras - other.eras, self.s - other.s, self.ss - other.ss, self.inflation)


def trace_pairs(f: int, count: int = TRACE_PAIRS) -> np.ndarray:
    """(k, 2) pairs (i <= j) of f features whose per-era sums estimate :func:`era_inflation`:
    all of them when there are at most ``count``, else ``count`` drawn with a fixed seed."""
    i, j = np.triu_indices(f)
    if len(i) > count:
        pick = np.sort(np.random.default_rng(0).choice(len(i), count, replace=False))
        i, j = i[pick], j[pick]
    return np.column_stack([i, j]).astype(np.int64)


def screen_moments(
    features: np.ndarray, g: np.ndarray, center: np.ndarray, rows: np.ndarray, eras: np.ndarray,
    trace: np.ndarray | None = None,
) -> Screen:  # fmt: skip
    """:class:`Screen` of ``rows`` of features (n, f) centred at ``center`` (f,), g (n,),
    eras (n,): one f x f product per era, eras in the order of their sorted labels. With
    ``trace`` (k, 2), the inflation is estimated from those pairs' per-era sums."""
    f = features.shape[1]
    s, ss = np.zeros((f, f)), np.zeros((f, f))
    index = EraIndex.from_eras(eras[rows])
    series = []
    for e in range(index.n_eras):
        part = rows[index.rows[index.starts[e] : index.starts[e + 1]]]
        u = (features[part] - center).astype(np.float32)  # a test statistic: float32 will do
        era = ((u * g[part, None].astype(np.float32)).T @ u).astype(np.float64)
        s += era
        ss += era * era
        if trace is not None:
            series.append(era[trace[:, 0], trace[:, 1]])
    inflation = era_inflation(np.array(series)) if trace is not None and series else 1.0
    return Screen(index.n_eras, s, ss, inflation)


def significant_pairs(s: Screen, alpha: float = PAIR_ALPHA, cap: int = MAX_PAIRS) -> np.ndarray:
    """Pairs (k, 2) (i <= j, sorted) whose product's per-era covariance with g has a mean
    significantly different from zero (Student's t over the eras, so an interaction that
    only some eras show passes less easily for one that all show; its variance and degrees
    of freedom corrected by ``s.inflation``) at family-wise level ``alpha`` (Bonferroni)
    over the f (f - 1) / 2 products, and for a square (i == j: a U-shape, a per-feature
    effect) over the f squares; the ``cap`` largest |t| at most."""
    from scipy.stats import t as student  # scipy.stats takes most of a second to import

    f = s.s.shape[0]
    i, j = np.triu_indices(f)
    n = s.eras
    if n < 3 or not len(i):
        return np.empty((0, 2), dtype=np.int64)
    mean = s.s[i, j] / n
    var = np.maximum(s.ss[i, j] / n - mean**2, 0.0) * n / (n - 1) * s.inflation
    se = np.sqrt(var / n)
    t = np.abs(np.divide(mean, se, out=np.zeros_like(mean), where=se > 0))
    df = max(n / s.inflation - 1, 2.0)
    square_bar, product_bar = student.isf(alpha / (2 * np.array([f, max(len(i) - f, 1)])), df)
    keep = np.flatnonzero(t > np.where(i == j, square_bar, product_bar))
    keep = keep[np.argsort(-t[keep], kind="stable")][:cap]
    pairs = np.column_stack([i[keep], j[keep]]).astype(np.int64)
    return pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))] if len(pairs) else pairs


@dataclass(frozen=True)
class Ridge:
    """Ridge solutions of one set of moments for every penalty: coef (L, f, k), intercept
    (L, k), on the features and ``products`` (their coefficients last)."""

    coef: np.ndarray
    intercept: np.ndarray
    products: Products | None = None

    @classmethod
    def solve(
        cls, m: Moments, penalties: tuple[float, ...], products: Products | None = None
    ) -> Ridge:
        mx, my = m.x / m.n, m.y / m.n
        cxx = m.xx / m.n - np.outer(mx, mx)
        cxy = m.xy / m.n - np.outer(mx, my)
        d, v = np.linalg.eigh(cxx)
        scale = max(float(np.mean(np.diag(cxx))), 1e-12)
        proj = v.T @ cxy
        coef = np.stack([v @ (proj / (np.maximum(d, 0) + p * scale)[:, None]) for p in penalties])
        return cls(coef, my[None, :] - np.einsum("f,lfk->lk", mx, coef), products)

    def predict(self, features: np.ndarray, rows: np.ndarray, target: int) -> np.ndarray:
        """Predictions (len(rows), L) of every penalty for one target."""
        out = np.empty((len(rows), self.coef.shape[0]))
        size = _batch_rows(features)
        for start in range(0, len(rows), size):
            x = _design(features, rows[start : start + size], self.products)
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
    held-out predictions (n,) (NaN outside the held-out eras), the final model text, the
    number of feature products in it and the era inflation their test allowed for."""

    penalty: float
    score: float
    preds: np.ndarray
    model_text: str
    pairs: int = 0
    inflation: float = 1.0


def _split_pairs(
    features: np.ndarray, screen: np.ndarray | None, eras: np.ndarray, center: np.ndarray,
    excluded: list[np.ndarray],
) -> tuple[list[np.ndarray], float]:  # fmt: skip
    """Per split (its excluded rows), the products significant on its fit rows (on every
    n-th row: :data:`SCREEN_ROWS`), and the era inflation estimated on every era."""
    if screen is None:
        return [np.empty((0, 2), dtype=np.int64) for _ in excluded], 1.0
    g = gauss_targets(screen[:, None], eras)[:, 0]
    sample = np.arange(0, len(eras), -(-len(eras) // SCREEN_ROWS))
    total = screen_moments(features, g, center, sample, eras, trace_pairs(features.shape[1]))
    out = []
    for rows in excluded:
        left_out = sample[np.isin(sample, rows)]
        s = total - screen_moments(features, g, center, left_out, eras) if len(left_out) else total
        out.append(significant_pairs(s))
    return out, total.inflation


def _columns(f: int, union: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Design columns of the features and of ``pairs``, among the products ``union``."""
    where = {(int(a), int(b)): f + k for k, (a, b) in enumerate(union)}
    return np.array([*range(f), *(where[(int(a), int(b))] for a, b in pairs)], dtype=np.int64)


def fit_linear(
    features: np.ndarray,
    y: np.ndarray,
    eras: np.ndarray,
    splits: list[EraSplit],
    final: EraSplit,
    penalties: tuple[float, ...] = PENALTIES,
    screen: np.ndarray | None = None,
    advance: Advance = lambda steps: None,
) -> list[LinearFit]:
    """A ridge member per target column of y (n, k): the penalty whose held-out
    predictions over ``splits`` score best (mean per-era correlation with the target),
    then one fit with it on the eras of ``final.fit``. With ``screen`` (n,), a target
    (NaN: unknown), each fit also gets the feature products significant against it on
    that fit's own eras (:func:`significant_pairs`).

    features (n, f) int8; eras (n,). Every split's held-out predictions come from a model
    that saw none of its held-out or excluded (embargo) eras, its products included.
    ``advance(1)`` follows each of its ``len(splits) + 3`` steps (a progress bar).
    """
    g = gauss_targets(y, eras)
    all_rows = np.arange(len(eras))
    total = moments(features, g, all_rows)
    advance(1)
    f, k = features.shape[1], y.shape[1]
    excluded = [np.flatnonzero(~np.isin(eras, s.fit)) for s in [*splits, final]]
    center = total.x / total.n
    chosen, inflation = _split_pairs(features, screen, eras, center, excluded)
    advance(1)
    union = np.unique(np.concatenate(chosen), axis=0).reshape(-1, 2)
    products = Products(union, center) if len(union) else None
    total = with_products(total, features, g, all_rows, products)

    def ridge(rows: np.ndarray, pairs: np.ndarray) -> Ridge:
        m = total
        if len(rows):
            m = total - with_products(moments(features, g, rows), features, g, rows, products)
        own = Products(pairs, products.center) if products is not None and len(pairs) else None
        return Ridge.solve(m.subset(_columns(f, union, pairs)), penalties, own)

    # Per split: its ridges and the per-era CORR of every penalty (held-out eras of
    # different splits are disjoint); predictions are kept for the chosen penalty only.
    fitted: list[tuple[np.ndarray, Ridge]] = []
    era_scores: list[list[np.ndarray]] = [[] for _ in range(k)]
    for split, rows, pairs in zip(splits, excluded[:-1], chosen[:-1], strict=True):
        fold = ridge(rows, pairs)
        hold = np.flatnonzero(np.isin(eras, split.holdout))
        fitted.append((hold, fold))
        for j in range(k):
            era_scores[j].append(
                _era_corrs(fold.predict(features, hold, j), y[hold, j], eras[hold])
            )
        advance(1)
    every = ridge(excluded[-1], chosen[-1])  # the final fit: one eigh for every target
    advance(1)
    out = []
    for j in range(k):
        scores = np.nanmean(np.concatenate(era_scores[j]), axis=0)
        best = int(np.argmax(np.nan_to_num(scores, nan=-np.inf)))
        preds = np.full(len(eras), np.nan)
        for hold, fold in fitted:
            preds[hold] = fold.predict(features, hold, j)[:, best]
        text = _model_text(every, best, j, f)
        out.append(LinearFit(penalties[best], float(scores[best]), preds, text,
                             len(chosen[-1]), inflation))  # fmt: skip
    return out


def _model_text(ridge: Ridge, penalty: int, target: int, f: int) -> str:
    coef, intercept = ridge.coef[penalty, :, target], float(ridge.intercept[penalty, target])
    if ridge.products is None:
        return linear_text(coef, intercept)
    pairs = ridge.products.pairs
    return linear_text(coef[:f], intercept, pairs, ridge.products.center[pairs], coef[f:])


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
