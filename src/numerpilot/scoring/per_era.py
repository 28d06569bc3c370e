"""Per-era CORR, MMC/BMC and rank correlation with Numerai's definitions, vectorised.

Each function equals numerai-tools applied era by era (``numerai_corr``,
``correlation_contribution``, ``spearman_correlation``) within 1e-9, without a Python loop
over eras: rows are grouped by era once (an :class:`EraIndex`, passed in or built from the
era labels) and every step runs on all eras at the same time.

Where numerai-tools asserts, these functions return numbers or skip:
- an era where fewer than 80 % of the rows (or fewer than 2) have a target, a prediction
  (and a meta model value for MMC) is skipped and listed in ``PerEra.skipped``;
- a prediction column that is constant within an era scores NaN in that era.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from numerpilot.kernel.eras import EraIndex, as_index
from numerpilot.kernel.neutralize import workers
from numerpilot.kernel.ranks import Ranker, gaussian, gaussian_power, identity, power

log = logging.getLogger(__name__)

#: numerai-tools' DEFAULT_MAX_FILTERED_INDEX_RATIO: at most 20 % of an era may be filtered.
MAX_FILTERED_RATIO = 0.2

Eras = EraIndex | np.ndarray


@dataclass(frozen=True)
class PerEra:
    """Scores of k prediction columns over E eras: eras (E,) sorted str, values (E, k).

    ``skipped`` lists the eras left out because too few rows could be scored.
    """

    eras: np.ndarray
    values: np.ndarray
    skipped: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Selection:
    """The rows a metric scores: a sub-index of the data's :class:`EraIndex` (eras with
    enough valid rows) and the labels of the eras it skipped."""

    index: EraIndex
    kept: np.ndarray
    skipped: tuple[str, ...]

    @classmethod
    def of(cls, index: EraIndex, valid: np.ndarray, max_filtered_ratio: float) -> Selection:
        sub, kept = index.select(valid, 1 - max_filtered_ratio, min_rows=2)
        return cls(sub, kept, tuple(index.labels[~kept].tolist()))

    def per_era(self, columns: list[np.ndarray]) -> PerEra:
        values = np.stack(columns, axis=1) if columns else np.zeros((self.index.n_eras, 0))
        return PerEra(self.index.labels, values, self.skipped)


def as_matrix(predictions: np.ndarray, n: int) -> np.ndarray:
    """Predictions (n,) or (n, k) as a float64 (n, k) matrix (no copy when already one)."""
    preds = np.asarray(predictions, dtype=np.float64)
    if preds.ndim == 1:
        preds = preds[:, None]
    if preds.ndim != 2 or preds.shape[0] != n:
        raise ValueError(f"predictions have shape {preds.shape}; expected ({n},) or ({n}, k)")
    return preds


def map_columns(fn: Callable[[int], np.ndarray], k: int) -> list[np.ndarray]:
    """[fn(0), ..., fn(k - 1)] on up to one thread per core (numpy releases the GIL)."""
    n_threads = min(k, workers())
    if n_threads <= 1:
        return [fn(j) for j in range(k)]
    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        return list(pool.map(fn, range(k)))


def _valid_rows(preds: np.ndarray, *columns: np.ndarray) -> np.ndarray:
    valid: np.ndarray = ~np.isnan(preds).any(axis=1)
    for col in columns:
        valid &= ~np.isnan(col)
    return valid


def _warn_skipped(what: str, sel: Selection) -> None:
    """At debug: a run calls this per column group and fold; the reports' notes say it once
    (:func:`numerpilot.scoring.report.score_frame` logs them at info)."""
    if sel.skipped:
        shown = ", ".join(sel.skipped[:5]) + (" …" if len(sel.skipped) > 5 else "")
        log.debug("%s: %d era(s) skipped (under 80 %% of rows scorable): %s",
                  what, len(sel.skipped), shown)  # fmt: skip


def _centred(t: np.ndarray, index: EraIndex) -> tuple[np.ndarray, np.ndarray]:
    """Grouped t (m,) centred per era and its per-era sum of squares (E,)."""
    tc = index.center(t)
    return tc, index.sum(tc * tc)


def _pearson_with(a: np.ndarray, tc: np.ndarray, tt: np.ndarray, index: EraIndex) -> np.ndarray:
    """Pearson of grouped a (m,) with a centred tc (m,) (sum of squares tt (E,)) -> (E,)."""
    sa = index.sum(a)
    saa = index.sum(a * a) - sa * sa / index.counts
    with np.errstate(divide="ignore", invalid="ignore"):
        r = index.sum(a * tc) / np.sqrt(np.where(saa > 0, saa, np.nan) * tt)
    return np.asarray(np.clip(r, -1.0, 1.0), dtype=np.float64)


@dataclass(frozen=True)
class _CorrPrep:
    """What per-era CORR needs besides the predictions: selection and centred target."""

    sel: Selection
    tc: np.ndarray
    tt: np.ndarray


def _corr_prep(valid: np.ndarray, t_all: np.ndarray, index: EraIndex, ratio: float) -> _CorrPrep:
    t_grouped = index.take(t_all)
    known = ~np.isnan(t_grouped)
    with np.errstate(invalid="ignore", divide="ignore"):
        t_mean = index.sum(np.where(known, t_grouped, 0.0)) / index.sum(known.astype(np.int64))
    del t_grouped, known
    sel = Selection.of(index, valid & ~np.isnan(t_all), ratio)
    _warn_skipped("CORR", sel)
    sub = sel.index
    tc, tt = _centred(power(sub.take(t_all) - sub.spread(t_mean[sel.kept])), sub)
    return _CorrPrep(sel, tc, tt)


@dataclass(frozen=True)
class _MmcPrep:
    """What per-era MMC needs besides the predictions: selection, gaussianized meta model m,
    centred (x4) target t and their per-era dot products."""

    sel: Selection
    m: np.ndarray
    t: np.ndarray
    mm: np.ndarray
    tm: np.ndarray


def _mmc_prep(
    valid: np.ndarray,
    meta: np.ndarray,
    t_all: np.ndarray,
    index: EraIndex,
    ratio: float,
    same_as: Selection | None = None,
) -> _MmcPrep:
    sel = Selection.of(index, valid & ~np.isnan(t_all) & ~np.isnan(meta), ratio)
    if same_as is not None and np.array_equal(sel.index.rows, same_as.index.rows):
        sel = same_as  # share the sub-index (and its cached arrays) with CORR
    _warn_skipped("MMC", sel)
    sub = sel.index
    m = Ranker(sub).transform(sub.take(meta), gaussian)
    t = sub.take(t_all)
    in_unit = ((t >= 0) & (t <= 1)).astype(np.int64)
    scale = np.where(sub.sum(in_unit) == sub.counts, 4.0, 1.0)
    t = sub.center(t * sub.spread(scale))
    return _MmcPrep(sel, m, t, sub.sum(m * m), sub.sum(t * m))


def _mmc_values(p: np.ndarray, prep: _MmcPrep) -> np.ndarray:
    """MMC per era of gaussianized ranks p (m,): t . (p - m (p.m / m.m)) / N."""
    sub = prep.sel.index
    with np.errstate(invalid="ignore", divide="ignore"):  # a constant meta model: NaN there
        return np.asarray(
            (sub.sum(prep.t * p) - sub.sum(p * prep.m) / prep.mm * prep.tm) / sub.counts
        )


def per_era_corr(
    predictions: np.ndarray,
    target: np.ndarray,
    eras: Eras,
    *,
    max_filtered_ratio: float = MAX_FILTERED_RATIO,
) -> PerEra:
    """numerai_corr of each column of predictions (n, k) or (n,) per era.

    target (n,) may hold NaN (rows dropped, as numerai-tools does; the target is centred on
    the mean of its non-NaN values of the era first); eras: (n,) labels or their
    :class:`EraIndex`. Rows with a NaN in any prediction column are dropped too. Returns
    values (E, k).
    """
    t_all = np.asarray(target, dtype=np.float64)
    preds = as_matrix(predictions, len(t_all))
    prep = _corr_prep(_valid_rows(preds), t_all, as_index(eras), max_filtered_ratio)
    sub = prep.sel.index
    ranker = Ranker(sub)

    def one(j: int) -> np.ndarray:
        x = ranker.transform(sub.take(preds[:, j]), gaussian_power)
        return _pearson_with(x, prep.tc, prep.tt, sub)

    return prep.sel.per_era(map_columns(one, preds.shape[1]))


def per_era_mmc(
    predictions: np.ndarray,
    meta_model: np.ndarray,
    target: np.ndarray,
    eras: Eras,
    *,
    max_filtered_ratio: float = MAX_FILTERED_RATIO,
) -> PerEra:
    """MMC (``correlation_contribution``) of each column per era -> values (E, k).

    meta_model (n,) with NaN where absent: eras where under 80 % of the rows have a meta
    model value, a target and a prediction are skipped (listed in ``skipped``). BMC is the
    same function with a benchmark model column in place of the meta model.
    """
    t_all = np.asarray(target, dtype=np.float64)
    meta = np.asarray(meta_model, dtype=np.float64)
    preds = as_matrix(predictions, len(t_all))
    prep = _mmc_prep(_valid_rows(preds), meta, t_all, as_index(eras), max_filtered_ratio)
    sub = prep.sel.index
    ranker = Ranker(sub)

    def one(j: int) -> np.ndarray:
        return _mmc_values(ranker.transform(sub.take(preds[:, j]), gaussian), prep)

    return prep.sel.per_era(map_columns(one, preds.shape[1]))


@dataclass(frozen=True)
class MetaScores:
    """CORR, MMC and the Spearman correlation with the meta model (or a benchmark)."""

    corr: PerEra
    mmc: PerEra
    rank_corr: PerEra


def per_era_meta_scores(
    predictions: np.ndarray,
    meta_model: np.ndarray,
    target: np.ndarray,
    eras: Eras,
    *,
    max_filtered_ratio: float = MAX_FILTERED_RATIO,
) -> MetaScores:
    """per_era_corr, per_era_mmc and per_era_rank_corr with the meta model, of the same
    inputs. Where they score the same rows (the meta model and the target cover the same
    rows) each column is sorted once for all three."""
    t_all = np.asarray(target, dtype=np.float64)
    meta = np.asarray(meta_model, dtype=np.float64)
    preds = as_matrix(predictions, len(t_all))
    index = as_index(eras)
    valid = _valid_rows(preds)
    cprep = _corr_prep(valid, t_all, index, max_filtered_ratio)
    mprep = _mmc_prep(valid, meta, t_all, index, max_filtered_ratio, same_as=cprep.sel)
    rsel = Selection.of(index, valid & ~np.isnan(meta), max_filtered_ratio)
    opts = {"max_filtered_ratio": max_filtered_ratio}
    if mprep.sel is not cprep.sel or not np.array_equal(rsel.index.rows, cprep.sel.index.rows):
        return MetaScores(
            per_era_corr(preds, t_all, index, **opts),
            per_era_mmc(preds, meta, t_all, index, **opts),
            per_era_rank_corr(preds, meta, index, **opts),
        )
    sub = cprep.sel.index
    ranker = Ranker(sub)
    ro, oo = _centred(ranker.transform(sub.take(meta)), sub)
    fns = (gaussian_power, gaussian, identity)

    def one(j: int) -> np.ndarray:
        gp, g, r = ranker.transform_many(sub.take(preds[:, j]), fns)
        return np.concatenate(
            [
                _pearson_with(gp, cprep.tc, cprep.tt, sub),
                _mmc_values(g, mprep),
                _pearson_with(r, ro, oo, sub),
            ]
        )

    k = preds.shape[1]  # explicit: with no era to score, -1 could not be inferred
    parts = np.stack(map_columns(one, k), axis=1).reshape(3, sub.n_eras, k)
    sel = cprep.sel
    return MetaScores(*(sel.per_era(list(part.T)) for part in parts))


def per_era_corr_mmc(
    predictions: np.ndarray,
    meta_model: np.ndarray,
    target: np.ndarray,
    eras: Eras,
    *,
    max_filtered_ratio: float = MAX_FILTERED_RATIO,
) -> tuple[PerEra, PerEra]:
    """(per_era_corr, per_era_mmc) of the same inputs (see :func:`per_era_meta_scores`)."""
    scores = per_era_meta_scores(
        predictions, meta_model, target, eras, max_filtered_ratio=max_filtered_ratio
    )
    return scores.corr, scores.mmc


def per_era_rank_corr(
    predictions: np.ndarray,
    other: np.ndarray,
    eras: Eras,
    *,
    max_filtered_ratio: float = MAX_FILTERED_RATIO,
) -> PerEra:
    """Spearman correlation of each column with ``other`` (n,) per era (e.g. the meta model
    or a benchmark), as numerai-tools' ``spearman_correlation`` -> values (E, k)."""
    o = np.asarray(other, dtype=np.float64)
    preds = as_matrix(predictions, len(o))
    sel = Selection.of(as_index(eras), _valid_rows(preds, o), max_filtered_ratio)
    sub = sel.index
    ranker = Ranker(sub)
    ro, oo = _centred(ranker.transform(sub.take(o)), sub)

    def one(j: int) -> np.ndarray:
        return _pearson_with(ranker.transform(sub.take(preds[:, j])), ro, oo, sub)

    return sel.per_era(map_columns(one, preds.shape[1]))
