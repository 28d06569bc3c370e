"""One self-contained HTML validation report (inline CSS, base64 PNG plots, no scripts)."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from html import escape
from pathlib import Path

from numerpilot.io import write_text_atomic
from numerpilot.report.plots import Plot, focus_column, render_plots
from numerpilot.scoring.report import ScoreReport, format_metric

#: Summary keys in display order with their labels (keys not listed follow, labelled by key).
LABELS: dict[str, str] = {
    "corr_mean": "CORR mean",
    "corr_std": "CORR std",
    "corr_sharpe": "CORR sharpe",
    "corr_max_drawdown": "CORR max drawdown",
    "corr_positive_share": "CORR eras > 0",
    "corr_autocorr": "CORR autocorr",
    "n_eras": "eras",
    "mmc_mean": "MMC mean",
    "mmc_std": "MMC std",
    "mmc_sharpe": "MMC sharpe",
    "mmc_max_drawdown": "MMC max drawdown",
    "mmc_n_eras": "MMC eras",
    "corr_with_meta_mean": "corr w/ meta model",
    "payout_mean": "payout / stake",
    "bmc_mean": "BMC mean",
    "bmc_std": "BMC std",
    "bmc_sharpe": "BMC sharpe",
    "bmc_max_drawdown": "BMC max drawdown",
    "bmc_n_eras": "BMC eras",
    "corr_with_benchmark_mean": "corr w/ benchmark",
    "fnc_mean": "FNC mean",
    "fnc_std": "FNC std",
    "fnc_sharpe": "FNC sharpe",
    "fnc_max_drawdown": "FNC max drawdown",
    "fnc_n_eras": "FNC eras",
    "max_feature_exposure": "feature exposure",
}

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;
max-width:1000px;padding:0 1rem;color:#1a1a1a;background:#fff;line-height:1.4}
h1{font-size:1.5rem;margin-bottom:.3rem}h2{font-size:1.15rem;margin-top:2rem;
border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;font-size:.9rem;display:block;max-width:100%;overflow-x:auto}
th,td{padding:.25rem .7rem;border-bottom:1px solid #eee}
table.summary td{text-align:right;font-variant-numeric:tabular-nums}
table.summary th{text-align:right}table.summary th.metric,table.summary td.metric{text-align:left}
table.summary th.focus,table.summary td.focus{font-weight:600;background:#f6f8fa}
table.context th{text-align:left;color:#555;font-weight:500}
figure{margin:1rem 0}figure img{max-width:100%;height:auto;display:block}
figcaption{font-size:.85rem;color:#555}ul.notes{font-size:.9rem;color:#444}
footer{margin-top:2rem;font-size:.8rem;color:#888}
"""


def _ordered_keys(summaries: Iterable[Mapping[str, float]]) -> list[str]:
    present: dict[str, None] = {}
    for s in summaries:
        present.update(dict.fromkeys(s))
    return [k for k in LABELS if k in present] + [k for k in present if k not in LABELS]


def _summary_table(report: ScoreReport) -> str:
    summaries = [report.summary(col) for col in report.columns]
    focus = focus_column(report) if len(report.columns) > 1 else None

    def cls(col: str, base: str = "") -> str:
        names = " ".join(n for n in (base, "focus" if col == focus else "") if n)
        return f' class="{names}"' if names else ""

    head = "".join(f"<th{cls(c)}>{escape(c)}</th>" for c in report.columns)
    rows = [f'<tr><th class="metric">metric</th>{head}</tr>']
    for key in _ordered_keys(summaries):
        cells = "".join(
            f"<td{cls(c)}>{escape(format_metric(key, s.get(key)))}</td>"
            for c, s in zip(report.columns, summaries, strict=True)
        )
        label = escape(LABELS.get(key, key))
        rows.append(f'<tr data-key="{escape(key)}"><td class="metric">{label}</td>{cells}</tr>')
    return '<table class="summary">\n' + "\n".join(rows) + "\n</table>"


def context_table(context: Mapping[str, str]) -> str:
    if not context:
        return ""
    rows = "".join(
        f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>" for k, v in context.items()
    )
    return f'<table class="context">{rows}</table>'


def figure_html(plot: Plot) -> str:
    data = base64.b64encode(plot.png).decode("ascii")
    title = escape(plot.title)
    return (
        f'<figure data-plot="{escape(plot.key)}"><img alt="{title}" '
        f'src="data:image/png;base64,{data}"><figcaption>{title}</figcaption></figure>'
    )


def render_html(
    report: ScoreReport, *, title: str, context: Mapping[str, str], sections: str = ""
) -> str:
    """The whole report page as one HTML string; ``sections`` (HTML) go before the summary."""
    plots = "\n".join(figure_html(p) for p in render_plots(report))
    notes = "".join(f"<li>{escape(n)}</li>" for n in report.notes) or "<li>none</li>"
    t = escape(title)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t}</title>
<style>{CSS}</style>
</head>
<body>
<h1>{t}</h1>
{context_table(context)}
{sections}<h2>Summary</h2>
{_summary_table(report)}
<h2>Plots</h2>
{plots}
<h2>Notes</h2>
<ul class="notes">{notes}</ul>
<footer>Per-era scores with numerai-tools definitions; generated by numerpilot.</footer>
</body>
</html>
"""


def write_validation_report(
    report: ScoreReport, dest: Path, *, title: str, context: Mapping[str, str]
) -> Path:
    """Render the report and write it to ``dest`` atomically; returns ``dest``.

    The page is fully rendered before anything is written, so a failure leaves no file
    (and an existing report untouched).
    """
    text = render_html(report, title=title, context=context)
    dest = Path(dest)
    write_text_atomic(dest, text)
    return dest
