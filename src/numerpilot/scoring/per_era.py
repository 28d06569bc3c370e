"""Per-era CORR, MMC/BMC and rank correlation with Numerai's definitions, vectorised.

Each function equals numerai-tools applied era by era (``numerai_corr``,
``correlation_contribution``, ``spearman_correlation``) within 1e-9, without a Python loop
over eras: rows are sorted by era once and every step runs on all eras at the same time.

Where numerai-tools asserts, these functions return numbers or skip:
- an era where fewer than 80 % of the rows (or fewer than 2) have a target, a prediction
  (and a meta model value for MMC) is skipped and listed in ``PerEra.skipped``;
- a prediction column that is constant within an era scores NaN in that era.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from numerpilot.scoring.segments import (
    MAX_FILTERED_RATIO,
    EraGroups,
    Ranker,
    Segments,
    Selection,
    gaussian,
    gaussian_power,
    map_columns,
    power,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PerEra:
    """Scores of k prediction columns over E eras: eras (E,) sorted str, values (E, k).

    ``skipped`` lists the eras left out because too few rows could be scored.
    """

    eras: np.ndarray
    values: np.ndarray
    skipped: tuple[str, ...] = field(default=())


def as_matrix(predictions: np.ndarray, n: int) -> np.ndarray:
    """Predictions (n,) or (n, k) as a float64 (n, k) matrix (no copy when already one)."""
    preds = np.asarray(predictions, dtype=np.float64)
    if preds.ndim == 1:
        preds = preds[:, None]
    if preds.ndim != 2 or preds.shape[0] != n:
        raise ValueError(f"predictions have shape {preds.shape}; expected ({n},) or ({n}, k)")
    return preds


def _valid_rows(preds: np.ndarray, *columns: np.ndarray) -> np.ndarray:
    valid: np.ndarray = ~np.isnan(preds).any(axis=1)
    for col in columns:
        valid &= ~np.isnan(col)
    return valid


def _warn_skipped(what: str, skipped: np.ndarray) -> None:
    if len(skipped):
        shown = ", ".join(skipped[:5].tolist()) + (" …" if len(skipped) > 5 else "")
        log.info(
            "%s: %d eras skipped (under 80 %% of rows scorable): %s", what, len(skipped), shown
        )


def _centred_target(t: np.ndarray, seg: Segments) -> tuple[np.ndarray, np.ndarray]:
    """Target (m,) centred per segment and its per-segment sum of squares (E,)."""
    tc = seg.center(t)
    return tc, seg.sum(tc * tc)


def _pearson_with(a: np.ndarray, tc: np.ndarray, tt: np.ndarray, seg: Segments) -> np.ndarray:
    """Pearson of a (m,) with an already centred tc (m,) (sum of squares tt (E,)) -> (E,)."""
    sa = seg.sum(a)
    saa = seg.sum(a * a) - sa * sa / seg.counts
    with np.errstate(divide="ignore", invalid="ignore"):
        r = seg.sum(a * tc) / np.sqrt(np.where(saa > 0, saa, np.nan) * tt)
    return np.asarray(np.clip(r, -1.0, 1.0), dtype=np.float64)


@dataclass(frozen=True)
class _CorrPrep:
    """What per-era CORR needs besides the predictions: selection and centred target."""

    sel: Selection
    tc: np.ndarray
    tt: np.ndarray


def _corr_prep(
    valid_preds: np.ndarray, t_all: np.ndarray, groups: EraGroups, max_filtered_ratio: float
) -> _CorrPrep:
    t_sorted = t_all[groups.order]
    known = ~np.isnan(t_sorted)
    seg_all = groups.segments
    with np.errstate(invalid="ignore", divide="ignore"):
        t_mean = seg_all.sum(np.where(known, t_sorted, 0.0)) / seg_all.sum(known.astype(np.int64))
    sel = groups.select(valid_preds & ~np.isnan(t_all), max_filtered_ratio)
    del t_sorted, known
    _warn_skipped("CORR", sel.skipped)
    seg = sel.segments
    tc, tt = _centred_target(power(sel.column(t_all) - seg.spread(t_mean[sel.era_index])), seg)
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
    valid_preds: np.ndarray,
    meta: np.ndarray,
    t_all: np.ndarray,
    groups: EraGroups,
    max_filtered_ratio: float,
    same_as: Selection | None = None,
) -> _MmcPrep:
    valid = valid_preds & ~np.isnan(t_all) & ~np.isnan(meta)
    sel = groups.select(valid, max_filtered_ratio)
    if same_as is not None and np.array_equal(sel.rows, same_as.rows):
        sel = same_as  # share the segments (and their cached indices) with CORR
    _warn_skipped("MMC", sel.skipped)
    seg = sel.segments
    m = Ranker(seg).transform(sel.column(meta), gaussian)
    t = sel.column(t_all)
    in_unit = ((t >= 0) & (t <= 1)).astype(np.int64)
    scale = np.where(seg.sum(in_unit) == seg.counts, 4.0, 1.0)
    t = seg.center(t * seg.spread(scale))
    return _MmcPrep(sel, m, t, seg.sum(m * m), seg.sum(t * m))


def _mmc_values(p: np.ndarray, prep: _MmcPrep) -> np.ndarray:
    """MMC per era of gaussianized ranks p (m,): t . (p - m (p.m / m.m)) / N."""
    seg = prep.sel.segments
    return np.asarray((seg.sum(prep.t * p) - seg.sum(p * prep.m) / prep.mm * prep.tm) / seg.counts)


def _per_era(sel: Selection, columns: list[np.ndarray]) -> PerEra:
    values = np.stack(columns, axis=1) if columns else np.zeros((len(sel.labels), 0))
    return PerEra(sel.labels, values, tuple(sel.skipped.tolist()))


def per_era_corr(
    predictions: np.ndarray,
    target: np.ndarray,
    eras: np.ndarray,
    *,
    max_filtered_ratio: float = MAX_FILTERED_RATIO,
) -> PerEra:
    """numerai_corr of each column of predictions (n, k) or (n,) per era.

    target (n,) may hold NaN (rows dropped, as numerai-tools does; the target is centred on
    the mean of its non-NaN values of the era first); eras (n,) labels. Rows with a NaN in
    any prediction column are dropped too. Returns values (E, k).
    """
    t_all = np.asarray(target, dtype=np.float64)
    preds = as_matrix(predictions, len(t_all))
    prep = _corr_prep(_valid_rows(preds), t_all, EraGroups.from_eras(eras), max_filtered_ratio)
    seg = prep.sel.segments
    ranker = Ranker(seg)

    def one(j: int) -> np.ndarray:
        x = ranker.transform(prep.sel.column(preds, j), gaussian_power)
        return _pearson_with(x, prep.tc, prep.tt, seg)

    return _per_era(prep.sel, map_columns(one, preds.shape[1]))


def per_era_mmc(
    predictions: np.ndarray,
    meta_model: np.ndarray,
    target: np.ndarray,
    eras: np.ndarray,
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
    groups = EraGroups.from_eras(eras)
    prep = _mmc_prep(_valid_rows(preds), meta, t_all, groups, max_filtered_ratio)
    ranker = Ranker(prep.sel.segments)

    def one(j: int) -> np.ndarray:
        return _mmc_values(ranker.transform(prep.sel.column(preds, j), gaussian), prep)

    return _per_era(prep.sel, map_columns(one, preds.shape[1]))


def per_era_corr_mmc(
    predictions: np.ndarray,
    meta_model: np.ndarray,
    target: np.ndarray,
    eras: np.ndarray,
    *,
    max_filtered_ratio: float = MAX_FILTERED_RATIO,
) -> tuple[PerEra, PerEra]:
    """(per_era_corr, per_era_mmc) of the same inputs; where both score the same rows (the
    meta model covers every era) each column is ranked once for both."""
    t_all = np.asarray(target, dtype=np.float64)
    meta = np.asarray(meta_model, dtype=np.float64)
    preds = as_matrix(predictions, len(t_all))
    groups = EraGroups.from_eras(eras)
    valid = _valid_rows(preds)
    cprep = _corr_prep(valid, t_all, groups, max_filtered_ratio)
    mprep = _mmc_prep(valid, meta, t_all, groups, max_filtered_ratio, same_as=cprep.sel)
    shared = mprep.sel is cprep.sel
    if not shared:
        corr = per_era_corr(preds, t_all, eras, max_filtered_ratio=max_filtered_ratio)
        return corr, per_era_mmc(preds, meta, t_all, eras, max_filtered_ratio=max_filtered_ratio)
    seg = cprep.sel.segments
    ranker = Ranker(seg)

    def one(j: int) -> np.ndarray:
        gp, g = ranker.transform_many(cprep.sel.column(preds, j), (gaussian_power, gaussian))
        return np.concatenate([_pearson_with(gp, cprep.tc, cprep.tt, seg), _mmc_values(g, mprep)])

    both = map_columns(one, preds.shape[1])
    n_eras = len(cprep.sel.labels)
    return _per_era(cprep.sel, [b[:n_eras] for b in both]), _per_era(
        mprep.sel, [b[n_eras:] for b in both]
    )


def per_era_rank_corr(
    predictions: np.ndarray,
    other: np.ndarray,
    eras: np.ndarray,
    *,
    max_filtered_ratio: float = MAX_FILTERED_RATIO,
) -> PerEra:
    """Spearman correlation of each column with ``other`` (n,) per era (e.g. the meta model
    or a benchmark), as numerai-tools' ``spearman_correlation`` -> values (E, k)."""
    o = np.asarray(other, dtype=np.float64)
    preds = as_matrix(predictions, len(o))
    groups = EraGroups.from_eras(eras)
    sel = groups.select(_valid_rows(preds, o), max_filtered_ratio)
    seg = sel.segments
    ranker = Ranker(seg)
    ro, oo = _centred_target(ranker.rank(sel.column(o)), seg)

    def one(j: int) -> np.ndarray:
        return _pearson_with(ranker.rank(sel.column(preds, j)), ro, oo, seg)

    return _per_era(sel, map_columns(one, preds.shape[1]))
