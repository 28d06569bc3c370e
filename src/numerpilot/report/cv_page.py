"""The cross-validation page: folds, overall scores, plots and the comparison of two configs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from numerpilot.report.page import render_html
from numerpilot.scoring.report import ScoreReport, format_metric

#: Per-fold columns of the folds table: (summary key, heading).
FOLD_KEYS = (
    ("corr_mean", "CORR mean"),
    ("corr_sharpe", "CORR sharpe"),
    ("corr_max_drawdown", "CORR max drawdown"),
    ("mmc_mean", "MMC mean"),
    ("fnc_mean", "FNC mean"),
)


def folds_table(folds: Sequence[Mapping[str, Any]], column: str) -> str:
    """One row per fold (``cv.json``'s ``folds``): its eras and ``column``'s scores."""
    head = "".join(f"<th>{escape(h)}</th>" for _, h in FOLD_KEYS)
    rows = [f'<tr><th class="metric">fold</th><th>train eras</th><th>test eras</th>{head}</tr>']
    for f in folds:
        s = f["scores"].get(column, {})
        cells = "".join(f"<td>{escape(format_metric(k, s.get(k)))}</td>" for k, _ in FOLD_KEYS)
        tr, te = f["train_eras"], f["test_eras"]
        rows.append(
            f'<tr data-fold="{f["fold"]}"><td class="metric">{f["fold"]}</td>'
            f"<td>{escape(tr['first'])}–{escape(tr['last'])} ({tr['n']})</td>"
            f"<td>{escape(te['first'])}–{escape(te['last'])} ({te['n']})</td>{cells}</tr>"
        )
    return '<table class="summary folds">\n' + "\n".join(rows) + "\n</table>"


def comparison_table(summary: Mapping[str, float | None], other: str) -> str:
    labels = {
        "mean_diff": "mean CORR difference",
        "std_diff": "std of the difference",
        "t_stat": "t-statistic",
        "t_stat_autocorr": "t-statistic (autocorrelation-adjusted)",
        "better_share": "eras better",
        "n_eras": "eras",
    }
    rows = "".join(
        f'<tr data-key="{k}"><td class="metric">{escape(label)}</td>'
        f"<td>{escape(format_metric(k, summary.get(k)))}</td></tr>"
        for k, label in labels.items()
    )
    return (f"<p>{escape(other)} minus this configuration, per era, ensemble CORR.</p>"
            f'<table class="summary compare">{rows}</table>')  # fmt: skip


def render_cv_html(
    overall: ScoreReport,
    folds: Sequence[Mapping[str, Any]],
    *,
    context: Mapping[str, str],
    column: str,
    comparison: Mapping[str, Any] | None = None,
    other: str = "",
) -> str:
    """The CV page: folds table, comparison (if any), then the overall summary and plots."""
    sections = f"<h2>Folds ({escape(column)})</h2>\n{folds_table(folds, column)}\n"
    if comparison is not None:
        sections += f"<h2>Comparison</h2>\n{comparison_table(comparison['summary'], other)}\n"
    return render_html(
        overall, title="numerpilot cross-validation", context=context, sections=sections
    )
