"""Every metric of many prediction columns at once: :func:`score_frame` -> :class:`ScoreReport`."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from numerpilot.config import ScoringConfig
from numerpilot.errors import DataError
from numerpilot.kernel.eras import EraIndex, as_index
from numerpilot.scoring.fnc import feature_scores
from numerpilot.scoring.notes import (
    Parts,
    constant_model_notes,
    few_row_eras,
    few_row_notes,
    fnc_notes,
    skip_notes,
    undefined_notes,
)
from numerpilot.scoring.per_era import (
    MAX_FILTERED_RATIO,
    PerEra,
    as_matrix,
    per_era_corr,
    per_era_meta_scores,
    per_era_mmc,
    per_era_rank_corr,
)
from numerpilot.scoring.summary import payout, summarize

log = logging.getLogger(__name__)

#: Why MMC/BMC skip an era that CORR scores: too many of its rows lack the model's value.
_NO_META = "the meta model is missing for too many of their rows"
_NO_BENCHMARK = "the benchmark is missing for too many of their rows"
#: Where the target column scored comes from, for the errors that blame it.
_TARGET_COLUMN = ("the target column ('numerpilot score --target'; for 'validate', the first "
                  "of train.targets)")  # fmt: skip

#: Metrics whose per-era series go into the JSON report (when computed).
PER_ERA_KEYS = ("corr", "mmc", "bmc", "fnc", "payout")


@dataclass(frozen=True)
class ScoreReport:
    """Per-era metrics of k prediction columns.

    metrics maps a metric name (corr, mmc, bmc, fnc, feature_exposure, corr_with_meta,
    corr_with_benchmark, payout) to its :class:`PerEra` (values (E, k), columns in
    ``columns`` order); notes are user-facing remarks (eras skipped and why).
    """

    columns: tuple[str, ...]
    metrics: dict[str, PerEra]
    notes: tuple[str, ...] = field(default=())

    def series(self, metric: str, column: str) -> dict[str, float]:
        """{era: value} of one metric and column (empty if the metric was not computed)."""
        scores = self.metrics.get(metric)
        if scores is None:
            return {}
        j = self.columns.index(column)
        return {str(e): float(v) for e, v in zip(scores.eras, scores.values[:, j], strict=True)}

    def summary(self, column: str) -> dict[str, float]:
        """Summary numbers of one column (keys as in the ``score --json`` output)."""
        j = self.columns.index(column)
        out: dict[str, float] = {}
        corr = summarize(self.metrics["corr"].values[:, j])
        for key in ("mean", "std", "sharpe", "max_drawdown", "positive_share", "autocorr"):
            out[f"corr_{key}"] = corr[key]
        out["n_eras"] = corr["n_eras"]
        for metric in ("mmc", "bmc", "fnc"):
            if metric in self.metrics:
                s = summarize(self.metrics[metric].values[:, j])
                for key in ("mean", "std", "sharpe", "max_drawdown"):
                    out[f"{metric}_{key}"] = s[key]
                out[f"{metric}_n_eras"] = s["n_eras"]
        if "feature_exposure" in self.metrics:
            out["max_feature_exposure"] = _finite_mean(self.metrics["feature_exposure"], j)
        for metric in ("corr_with_meta", "corr_with_benchmark", "payout"):
            if metric in self.metrics:
                out[f"{metric}_mean"] = _finite_mean(self.metrics[metric], j)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``numerpilot score --json`` (NaN written as null)."""
        return {
            col: {
                "summary": {k: _json_number(v) for k, v in self.summary(col).items()},
                "per_era": {
                    m: {e: _json_number(v) for e, v in self.series(m, col).items()}
                    for m in PER_ERA_KEYS
                    if m in self.metrics
                },
            }
            for col in self.columns
        }


def format_metric(key: str, value: float | int | None) -> str:
    """A summary number as people read it: sharpe 2 decimals, shares in %, else 4 decimals."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, int):
        return str(value)
    if key.endswith("sharpe"):
        return f"{value:.2f}"
    return f"{value:.0%}" if key.endswith("share") else f"{value:.4f}"


def _finite_mean(scores: PerEra, j: int) -> float:
    v = scores.values[:, j]
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else float("nan")


def _json_number(v: float) -> float | int | None:
    if isinstance(v, int):
        return v
    return None if not math.isfinite(v) else float(v)


def _finite_or_nan(values: np.ndarray) -> np.ndarray:
    """``values`` with ±inf as NaN (a copy only when there is an inf)."""
    infinite = np.isinf(values)
    return np.where(infinite, np.nan, values) if infinite.any() else values


def _check_columns(preds: np.ndarray, columns: Sequence[str]) -> None:
    for j, col in enumerate(columns):
        values = preds[:, j]
        finite = values[~np.isnan(values)]
        if len(finite) == 0:
            raise DataError(f"prediction column '{col}' is all NaN for the scored rows; "
                            "check that its ids match the data file.")  # fmt: skip
        if np.all(finite == finite[0]):
            raise DataError(
                f"prediction column '{col}' is constant; CORR is undefined for constant "
                "predictions. Score a column that ranks the rows."
            )


def _mask_groups(preds: np.ndarray) -> list[list[int]]:
    """Columns grouped by identical NaN pattern (each group is scored in one batch)."""
    groups: dict[bytes, list[int]] = {}
    for j in range(preds.shape[1]):
        groups.setdefault(np.packbits(np.isnan(preds[:, j])).tobytes(), []).append(j)
    return list(groups.values())


def _columns(preds: np.ndarray, cols: list[int]) -> np.ndarray:
    """``preds[:, cols]``, without copying when ``cols`` is every column."""
    return preds if cols == list(range(preds.shape[1])) else preds[:, cols]


def _batched(
    preds: np.ndarray, fn: Callable[[np.ndarray], PerEra], groups: list[list[int]]
) -> Parts:
    """fn applied to each group of columns: {column indices: PerEra of those columns}."""
    return {tuple(cols): fn(_columns(preds, cols)) for cols in groups}


def _where_corr_defined(scores: PerEra, corr: PerEra) -> PerEra:
    """``scores`` (MMC, BMC) with NaN in the eras and columns where CORR is undefined (a
    constant target gives an MMC of 0, which is no score), so they count the same eras."""
    position = {str(e): i for i, e in enumerate(corr.eras)}
    rows = np.array([position.get(str(e), -1) for e in scores.eras], dtype=np.int64)
    known = rows >= 0
    undefined = np.zeros(scores.values.shape, dtype=bool)
    undefined[known] = np.isnan(corr.values[rows[known]])
    if not undefined.any():
        return scores
    return PerEra(scores.eras, np.where(undefined, np.nan, scores.values), scores.skipped)


def score_frame(
    predictions: np.ndarray,
    target: np.ndarray,
    eras: EraIndex | np.ndarray,
    *,
    columns: Sequence[str] | None = None,
    meta_model: np.ndarray | None = None,
    benchmark: np.ndarray | None = None,
    features: np.ndarray | None = None,
    proportion: float = 1.0,
    config: ScoringConfig | None = None,
    max_filtered_ratio: float = MAX_FILTERED_RATIO,
) -> ScoreReport:
    """Score k prediction columns per era with every metric the inputs allow.

    predictions (n, k) or (n,) with NaN where absent; target (n,) with NaN; eras: (n,)
    labels or, better, the data's :class:`EraIndex` (rows are grouped by era only once);
    meta_model (n,) and benchmark (n,) with NaN where absent (MMC/BMC and rank correlation
    with them); features (n, f) for FNC and feature exposure. Payout needs the meta model;
    multipliers and clip come from ``config``. A target of ±inf counts as missing, as NaN
    does. Raises DataError for an all-NaN or constant column, or when no era can be scored.
    """
    t = _finite_or_nan(np.asarray(target, dtype=np.float64))
    preds = as_matrix(predictions, len(t))
    cols = tuple(columns) if columns is not None else tuple(f"p{j}" for j in range(preds.shape[1]))
    if len(cols) != preds.shape[1]:
        raise ValueError(f"{len(cols)} column names for {preds.shape[1]} prediction columns")
    _check_columns(preds, cols)
    cfg = config or ScoringConfig.model_validate({})
    eras = as_index(eras)
    groups = _mask_groups(preds)
    opts = {"max_filtered_ratio": max_filtered_ratio}
    k = preds.shape[1]
    metrics: dict[str, PerEra] = {}
    notes: list[str] = []

    if meta_model is not None:  # one ranking of each column serves CORR, MMC and Spearman
        parts = {
            tuple(g): per_era_meta_scores(_columns(preds, g), meta_model, t, eras, **opts)
            for g in groups
        }
        corr_parts = {g: s.corr for g, s in parts.items()}
        mmc_parts = {g: s.mmc for g, s in parts.items()}
        meta_corr = _merge(k, {g: s.rank_corr for g, s in parts.items()})
    else:
        corr_parts = _batched(preds, lambda p: per_era_corr(p, t, eras, **opts), groups)
    metrics["corr"] = _merge(k, corr_parts)
    if len(metrics["corr"].eras) == 0:
        raise DataError("no era could be scored: every era has under 80 % of its rows with "
                        f"both a target and a prediction. Check {_TARGET_COLUMN} and that the "
                        "predictions' ids are the data's.")  # fmt: skip
    if not np.isfinite(metrics["corr"].values).any():
        raise DataError("no era could be scored: in every era the target or the predictions "
                        f"are constant (CORR is undefined). Check {_TARGET_COLUMN} and the "
                        "predictions.")  # fmt: skip
    few = few_row_eras(eras)
    notes += skip_notes("CORR", corr_parts, cols, "targets or predictions missing", omit=few)
    notes += few_row_notes(corr_parts, cols, few)
    notes += undefined_notes(corr_parts, cols)
    if meta_model is not None:
        mmc = _where_corr_defined(_merge(k, mmc_parts), metrics["corr"])
        if len(mmc.eras):
            notes += skip_notes("MMC", mmc_parts, cols, _NO_META, corr_parts)
            notes += constant_model_notes("MMC", mmc, metrics["corr"], cols, "the meta model")
            metrics["mmc"] = mmc
            metrics["corr_with_meta"] = meta_corr
            metrics["payout"] = payout(
                metrics["corr"],
                mmc,
                corr_multiplier=cfg.payout_corr_multiplier,
                mmc_multiplier=cfg.payout_mmc_multiplier,
                clip=cfg.payout_clip,
            )
        else:
            notes.append("MMC: the meta model covers no scored era; MMC left out")
    if benchmark is not None:
        bmc_parts = _batched(preds, lambda p: per_era_mmc(p, benchmark, t, eras, **opts), groups)
        bmc = _where_corr_defined(_merge(k, bmc_parts), metrics["corr"])
        if len(bmc.eras):
            notes += skip_notes("BMC", bmc_parts, cols, _NO_BENCHMARK, corr_parts)
            notes += constant_model_notes("BMC", bmc, metrics["corr"], cols, "the benchmark")
            metrics["bmc"] = bmc
            metrics["corr_with_benchmark"] = _merge(
                k, _batched(preds, lambda p: per_era_rank_corr(p, benchmark, eras, **opts), groups)
            )
        else:
            notes.append("BMC: the benchmark covers no scored era; BMC left out")
    if features is not None and np.asarray(features).shape[1] > 0:
        fs_parts = {
            tuple(g): feature_scores(preds[:, g], features, t, eras, proportion=proportion, **opts)
            for g in groups
        }
        metrics["fnc"] = _merge(k, {g: s.fnc for g, s in fs_parts.items()})
        metrics["feature_exposure"] = _merge(k, {g: s.exposure for g, s in fs_parts.items()})
        notes += fnc_notes(
            metrics["fnc"], metrics["corr"], cols, eras, np.asarray(features).shape[1]
        )
    for note in notes:
        log.info("%s", note)
    return ScoreReport(cols, metrics, tuple(notes))


def _merge(k: int, parts: Parts) -> PerEra:
    """Merge PerEra results of column groups into one (E, k) PerEra; its ``skipped`` are
    the eras any group skipped (the notes say which columns skipped which)."""
    items = list(parts.items())
    if len(items) == 1 and len(items[0][0]) == k:
        return items[0][1]
    eras = np.unique(np.concatenate([p.eras for _, p in items]))
    values = np.full((len(eras), k), np.nan)
    skipped: set[str] = set()
    for cols, part in items:
        values[np.ix_(np.searchsorted(eras, part.eras), np.asarray(cols, dtype=np.int64))] = (
            part.values
        )
        skipped |= set(part.skipped)
    return PerEra(eras, values, tuple(sorted(skipped)))
