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
    """Refuse a prediction column that is all NaN, holds ±inf or is constant."""
    for j, col in enumerate(columns):
        values = preds[:, j]
        finite = values[~np.isnan(values)]
        infinite = int(np.isinf(finite).sum())
        if infinite:
            raise DataError(f"prediction column '{col}' holds ±inf in {infinite} row(s) (an "
                            "overflow?); predictions must be finite numbers: fix them, or "
                            "leave those rows empty (NaN) to score without them.")  # fmt: skip
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
    c = _Scoring.of(predictions, target, eras, columns, max_filtered_ratio)
    with_meta = None
    if meta_model is not None:  # one ranking of each column serves CORR, MMC and Spearman
        with_meta = c.each(lambda p: per_era_meta_scores(p, meta_model, c.target, c.eras, **c.opts))
        corr_parts = {g: s.corr for g, s in with_meta.items()}
    else:
        corr_parts = c.each(lambda p: per_era_corr(p, c.target, c.eras, **c.opts))
    metrics = {"corr": _scored_corr(c.merge(corr_parts))}
    notes = _corr_notes(c, corr_parts)
    if with_meta is not None:
        notes += _add_mmc(metrics, c, with_meta, corr_parts, config)
    if benchmark is not None:
        notes += _add_bmc(metrics, c, benchmark, corr_parts)
    if features is not None and np.asarray(features).shape[1] > 0:
        notes += _add_fnc(metrics, c, features, proportion)
    for note in notes:
        log.info("%s", note)
    return ScoreReport(c.names, metrics, tuple(notes))


@dataclass(frozen=True)
class _Scoring:
    """The prediction columns scored together: (n, k) values grouped by NaN pattern (a
    group is scored in one batch), the target (n,) and the eras."""

    preds: np.ndarray
    target: np.ndarray
    eras: EraIndex
    names: tuple[str, ...]
    groups: list[list[int]]
    opts: dict[str, float]

    @classmethod
    def of(
        cls,
        predictions: np.ndarray,
        target: np.ndarray,
        eras: EraIndex | np.ndarray,
        columns: Sequence[str] | None,
        max_filtered_ratio: float,
    ) -> _Scoring:
        t = _finite_or_nan(np.asarray(target, dtype=np.float64))
        preds = as_matrix(predictions, len(t))
        k = preds.shape[1]
        names = tuple(columns) if columns is not None else tuple(f"p{j}" for j in range(k))
        if len(names) != k:
            raise ValueError(f"{len(names)} column names for {k} prediction columns")
        _check_columns(preds, names)
        ratio = {"max_filtered_ratio": max_filtered_ratio}
        return cls(preds, t, as_index(eras), names, _mask_groups(preds), ratio)

    def each(self, fn: Callable[[np.ndarray], Any]) -> dict[tuple[int, ...], Any]:
        """fn applied to each group of columns: {column indices: its result}."""
        return {tuple(cols): fn(_columns(self.preds, cols)) for cols in self.groups}

    def merge(self, parts: Parts) -> PerEra:
        """The groups' results as one (E, k) PerEra."""
        return _merge(self.preds.shape[1], parts)


def _scored_corr(corr: PerEra) -> PerEra:
    """CORR, refused when no era could be scored."""
    if len(corr.eras) == 0:
        raise DataError("no era could be scored: every era has under 80 % of its rows with "
                        f"both a target and a prediction. Check {_TARGET_COLUMN} and that the "
                        "predictions' ids are the data's.")  # fmt: skip
    if not np.isfinite(corr.values).any():
        raise DataError("no era could be scored: in every era the target or the predictions "
                        f"are constant (CORR is undefined). Check {_TARGET_COLUMN} and the "
                        "predictions.")  # fmt: skip
    return corr


def _corr_notes(c: _Scoring, corr_parts: Parts) -> list[str]:
    """The eras CORR skipped or left undefined, and why."""
    few = few_row_eras(c.eras)
    notes = skip_notes("CORR", corr_parts, c.names, "targets or predictions missing", omit=few)
    return notes + few_row_notes(corr_parts, c.names, few) + undefined_notes(corr_parts, c.names)


def _add_mmc(
    metrics: dict[str, PerEra],
    c: _Scoring,
    with_meta: dict[tuple[int, ...], Any],
    corr_parts: Parts,
    config: ScoringConfig | None,
) -> list[str]:
    """MMC, the rank correlation with the meta model and the payout, into ``metrics``."""
    mmc_parts = {g: s.mmc for g, s in with_meta.items()}
    mmc = _where_corr_defined(c.merge(mmc_parts), metrics["corr"])
    if not len(mmc.eras):
        return ["MMC: the meta model covers no scored era; MMC left out"]
    cfg = config or ScoringConfig.model_validate({})
    metrics["mmc"] = mmc
    metrics["corr_with_meta"] = c.merge({g: s.rank_corr for g, s in with_meta.items()})
    metrics["payout"] = payout(metrics["corr"], mmc, corr_multiplier=cfg.payout_corr_multiplier,
                               mmc_multiplier=cfg.payout_mmc_multiplier,
                               clip=cfg.payout_clip)  # fmt: skip
    notes = skip_notes("MMC", mmc_parts, c.names, _NO_META, corr_parts)
    return notes + constant_model_notes("MMC", mmc, metrics["corr"], c.names, "the meta model")


def _add_bmc(
    metrics: dict[str, PerEra], c: _Scoring, benchmark: np.ndarray, corr_parts: Parts
) -> list[str]:
    """BMC and the rank correlation with the benchmark, into ``metrics``."""
    bmc_parts = c.each(lambda p: per_era_mmc(p, benchmark, c.target, c.eras, **c.opts))
    bmc = _where_corr_defined(c.merge(bmc_parts), metrics["corr"])
    if not len(bmc.eras):
        return ["BMC: the benchmark covers no scored era; BMC left out"]
    metrics["bmc"] = bmc
    metrics["corr_with_benchmark"] = c.merge(
        c.each(lambda p: per_era_rank_corr(p, benchmark, c.eras, **c.opts))
    )
    notes = skip_notes("BMC", bmc_parts, c.names, _NO_BENCHMARK, corr_parts)
    return notes + constant_model_notes("BMC", bmc, metrics["corr"], c.names, "the benchmark")


def _add_fnc(
    metrics: dict[str, PerEra], c: _Scoring, features: np.ndarray, proportion: float
) -> list[str]:
    """FNC and feature exposure, into ``metrics``."""
    scores = c.each(
        lambda p: feature_scores(p, features, c.target, c.eras, proportion=proportion, **c.opts)
    )
    metrics["fnc"] = c.merge({g: s.fnc for g, s in scores.items()})
    metrics["feature_exposure"] = c.merge({g: s.exposure for g, s in scores.items()})
    n_features = np.asarray(features).shape[1]
    return fnc_notes(metrics["fnc"], metrics["corr"], c.names, c.eras, n_features)


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
