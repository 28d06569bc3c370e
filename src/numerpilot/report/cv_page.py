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


#: The comparison's rows: (summary key, label).
COMPARE_KEYS = (
    ("mean_diff", "mean CORR difference"),
    ("std_diff", "std of the difference"),
    ("t_stat", "t-statistic"),
    ("t_stat_autocorr", "t-statistic (autocorrelation-adjusted)"),
    ("this_better_share", "eras where this config is better"),
    ("other_better_share", "eras where the other config is better"),
    ("tied_share", "eras tied"),
    ("n_eras", "eras compared"),
)

#: The key scores shown side by side: (summary key, label).
SCORE_LABELS = (
    ("corr_mean", "CORR mean"),
    ("corr_sharpe", "CORR sharpe"),
    ("corr_max_drawdown", "CORR max drawdown"),
    ("mmc_mean", "MMC mean"),
    ("fnc_mean", "FNC mean"),
    ("n_eras", "eras"),
)


def scores_table(scores: Mapping[str, Mapping[str, float | None]]) -> str:
    """Both configs' key ensemble scores side by side (``cv.json``'s ``compare.scores``)."""
    this, that = scores.get("this", {}), scores.get("other", {})
    rows = ['<tr><th class="metric">ensemble</th><th>this config</th><th>other config</th></tr>']
    for k, label in SCORE_LABELS:
        if k in this or k in that:
            rows.append(
                f'<tr data-key="{k}"><td class="metric">{escape(label)}</td>'
                f"<td>{escape(format_metric(k, this.get(k)))}</td>"
                f"<td>{escape(format_metric(k, that.get(k)))}</td></tr>"
            )
    return '<table class="summary scores">' + "".join(rows) + "</table>"


def comparison_table(comparison: Mapping[str, Any], other: str) -> str:
    """Both configs' scores, then the per-era difference (``cv.json``'s ``compare``)."""
    summary = comparison["summary"]
    rows = "".join(
        f'<tr data-key="{k}"><td class="metric">{escape(label)}</td>'
        f"<td>{escape(format_metric(k, summary.get(k)))}</td></tr>"
        for k, label in COMPARE_KEYS
    )
    notes = "".join(f"<li>{escape(n)}</li>" for n in comparison.get("notes", ()))
    return (
        f"<p>This config and the other config, {escape(other)}, on the same folds.</p>"
        + scores_table(comparison.get("scores", {}))
        + "<p>The other config minus this config, per era, ensemble CORR.</p>"
        + f'<table class="summary compare">{rows}</table>'
        + (f'<ul class="notes">{notes}</ul>' if notes else "")
    )


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
        sections += f"<h2>Comparison</h2>\n{comparison_table(comparison, other)}\n"
    return render_html(
        overall, title="numerpilot cross-validation", context=context, sections=sections
    )
