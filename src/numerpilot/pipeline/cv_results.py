"""What cross-validation returns and writes: fold results, the overall scores, the
comparison of two configurations, and reports/cv.json + reports/cv.html."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from numerpilot.modeling.cv import EraSplit
from numerpilot.pipeline.context import Context
from numerpilot.scoring.per_era import PerEra
from numerpilot.scoring.report import ScoreReport
from numerpilot.scoring.summary import summarize

REPORT_JSON = "cv.json"
REPORT_HTML = "cv.html"
ENSEMBLE = "ensemble"


@dataclass(frozen=True)
class FoldResult:
    """One fold: its eras, the members' trees and the scores of its test eras."""

    number: int
    split: EraSplit
    trees: dict[str, int]
    scores: ScoreReport


@dataclass(frozen=True)
class CVResult:
    """Every fold and the scores of all out-of-fold predictions together."""

    columns: tuple[str, ...]
    folds: list[FoldResult]
    overall: ScoreReport
    purge: int
    embargo: int
    scheme: str
    #: Out-of-fold predictions (n, k + 1) of the rows loaded (NaN outside test eras).
    oof: np.ndarray = field(repr=False)
    #: The era of each of those n rows.
    row_eras: np.ndarray = field(repr=False)
    #: Every ``era_step``-th era was loaded (the memory plan's, for "auto").
    era_step: int = 1
    #: The target every column is scored on (``train.main_target``).
    target: str = "target"

    def per_era(self, column: str = ENSEMBLE) -> dict[str, float]:
        """{era: CORR} of one column over every test era."""
        return self.overall.series("corr", column)

    def as_json(self) -> dict[str, Any]:
        overall = self.overall.to_dict()
        return {
            "main_target": self.target,
            "scheme": self.scheme,
            "era_step": self.era_step,
            "purge_eras": self.purge,
            "embargo_eras": self.embargo,
            "columns": list(self.columns),
            "folds": [
                {
                    "fold": f.number,
                    "train_eras": _era_range(f.split.fit),
                    "test_eras": _era_range(f.split.holdout),
                    "trees": f.trees,
                    "scores": {c: v["summary"] for c, v in f.scores.to_dict().items()},
                }
                for f in self.folds
            ],
            "overall": {c: v["summary"] for c, v in overall.items()},
            "per_era": {c: v["per_era"] for c, v in overall.items()},
            "notes": list(self.overall.notes),
        }


def _era_range(eras: np.ndarray) -> dict[str, Any]:
    return {"first": str(eras[0]), "last": str(eras[-1]), "n": len(eras)}


def merge_reports(reports: list[ScoreReport]) -> ScoreReport:
    """The per-era scores of disjoint sets of eras as one report (metrics of any fold)."""
    columns = reports[0].columns
    names = list(dict.fromkeys(m for r in reports for m in r.metrics))
    metrics = {}
    for name in names:
        parts = [r.metrics[name] for r in reports if name in r.metrics]
        metrics[name] = PerEra(
            np.concatenate([p.eras for p in parts]),
            np.concatenate([p.values for p in parts]),
            tuple(e for p in parts for e in p.skipped),
        )
    notes = tuple(f"fold {i}: {n}" for i, r in enumerate(reports, start=1) for n in r.notes)
    return ScoreReport(columns, metrics, notes)


# --- Comparing two configurations on the same folds ---------------------------------------


#: The ensemble's scores shown side by side for the two configs compared.
KEY_SCORES = ("corr_mean", "corr_sharpe", "corr_max_drawdown", "mmc_mean", "fnc_mean", "n_eras")

#: A per-era difference this small is a tie (the same config gives exactly 0).
TIE = 1e-12


@dataclass(frozen=True)
class Comparison:
    """Per-era CORR difference (other - base) of the two ensembles on their common eras,
    each config's key scores (``scores``: "this" and "other") and notes on the comparison."""

    eras: np.ndarray
    diff: np.ndarray
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def summary(self) -> dict[str, float]:
        """Mean, std, t-statistic of the mean difference, and the t-statistic with the
        eras counted as fewer when neighbouring differences correlate (overlapping
        targets make them do): n_eff = n (1 - r1) / (1 + r1)."""
        s = summarize(self.diff)
        n = s["n_eras"]
        std = s["std"] * math.sqrt(n / (n - 1)) if n > 1 else float("nan")
        t = s["mean"] / (std / math.sqrt(n)) if n > 1 and std > 0 else float("nan")
        r1 = s["autocorr"] if math.isfinite(s["autocorr"]) else 0.0
        r1 = min(max(r1, 0.0), 0.99)
        n_eff = n * (1 - r1) / (1 + r1)
        t_adj = t * math.sqrt(n_eff / n) if n > 1 else float("nan")

        def share(where: np.ndarray) -> float:
            return float(np.mean(where)) if n else float("nan")

        return {
            "mean_diff": s["mean"],
            "std_diff": std,
            "t_stat": t,
            "t_stat_autocorr": t_adj,
            "autocorr": s["autocorr"],
            "this_better_share": share(self.diff < -TIE),
            "other_better_share": share(self.diff > TIE),
            "tied_share": share(np.abs(self.diff) <= TIE),
            "n_eras": n,
        }

    def as_json(self) -> dict[str, Any]:
        def number(v: float) -> float | None:
            return v if math.isfinite(v) else None

        return {
            "summary": {k: number(v) for k, v in self.summary().items()},
            "scores": {who: {k: number(v) for k, v in s.items()} for who, s in self.scores.items()},
            "per_era": {str(e): float(d) for e, d in zip(self.eras, self.diff, strict=True)},
            "notes": list(self.notes),
        }


def compare(
    base: CVResult, other: CVResult, column: str = ENSEMBLE, notes: tuple[str, ...] = ()
) -> Comparison:
    """``other``'s per-era CORR minus ``base``'s, on the eras both scored, with the key
    scores of each."""
    a, b = base.per_era(column), other.per_era(column)
    eras = np.array(sorted(set(a) & set(b)))
    diff = np.array([b[e] - a[e] for e in eras], dtype=np.float64)
    keep = np.isfinite(diff)
    scores = {who: key_scores(r, column) for who, r in (("this", base), ("other", other))}
    return Comparison(eras[keep], diff[keep], scores, notes)


def key_scores(result: CVResult, column: str = ENSEMBLE) -> dict[str, float]:
    """The :data:`KEY_SCORES` of one column over all folds (those it has)."""
    summary = result.overall.summary(column)
    return {k: summary[k] for k in KEY_SCORES if k in summary}


def write_cv_report(
    ctx: Context,
    result: CVResult,
    comparison: Comparison | None = None,
    other: str = "",
) -> dict[str, Any]:
    """Write reports/cv.html and reports/cv.json together (both or neither); returns the
    JSON written (``folds``, ``overall``, ``per_era`` and, comparing, ``compare``)."""
    from numerpilot.io import json_text, write_files_atomic
    from numerpilot.report.cv_page import render_cv_html

    cfg = ctx.config
    doc = result.as_json()
    if comparison is not None:
        doc["compare"] = {"other": other, **comparison.as_json()}
    context = {
        "data version": ctx.data_version,
        "scheme": f"{result.scheme}, {len(result.folds)} folds",
        "purge / embargo": f"{result.purge} / {result.embargo} eras",
        "members": ", ".join(result.columns[:-1]),
        "backend": f"{cfg.model.backend} ({cfg.model.device})",
        "era step": str(result.era_step),
    }
    html = render_cv_html(
        result.overall, doc["folds"], context=context, column=ENSEMBLE,
        comparison=doc.get("compare"), other=other,
    )  # fmt: skip
    reports = ctx.workdir.reports
    write_files_atomic(
        {
            reports / REPORT_HTML: html.encode("utf-8"),
            reports / REPORT_JSON: json_text(doc).encode("utf-8"),
        }
    )
    return doc
