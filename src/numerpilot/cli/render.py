"""Rich renderings shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich import box
from rich.table import Table

from numerpilot.cli.app import console
from numerpilot.scoring.report import ScoreReport, format_metric

if TYPE_CHECKING:
    from numerpilot.pipeline.validate import ValidationReport
    from numerpilot.submission.ledger import SubmissionRecord

_ROWS = (
    ("corr_mean", "CORR mean"),
    ("corr_std", "CORR std"),
    ("corr_sharpe", "CORR sharpe"),
    ("corr_max_drawdown", "CORR max drawdown"),
    ("corr_positive_share", "CORR eras > 0"),
    ("corr_autocorr", "CORR autocorr"),
    ("n_eras", "eras"),
    ("mmc_mean", "MMC mean"),
    ("mmc_std", "MMC std"),
    ("mmc_sharpe", "MMC sharpe"),
    ("mmc_n_eras", "MMC eras"),
    ("corr_with_meta_mean", "corr w/ meta model"),
    ("payout_mean", "payout / stake"),
    ("bmc_mean", "BMC mean"),
    ("bmc_sharpe", "BMC sharpe"),
    ("corr_with_benchmark_mean", "corr w/ benchmark"),
    ("fnc_mean", "FNC mean"),
    ("fnc_sharpe", "FNC sharpe"),
    ("max_feature_exposure", "feature exposure"),
)


def render(report: ScoreReport, title: str = "Per-era scores (numerai-tools definitions)") -> Table:
    """The summary numbers of every column as a rich table (one column per prediction)."""
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("metric", no_wrap=True)
    for col in report.columns:
        table.add_column(col, justify="right", overflow="fold", min_width=7)
    summaries = [report.summary(col) for col in report.columns]
    for key, label in _ROWS:
        if key in summaries[0]:
            table.add_row(label, *(format_metric(key, s.get(key)) for s in summaries))
    return table


def render_submissions(records: list[SubmissionRecord]) -> None:
    for rec in records:
        name = Path(rec.path).name
        if rec.status == "uploaded":
            console.print(
                f"[green]✓[/green] {rec.model_name}: submitted {name} for round {rec.round} "
                f"(submission {rec.submission_id})."
            )
        elif rec.status == "already_done":
            console.print(
                f"[yellow]•[/yellow] {rec.model_name}: already submitted in round {rec.round} "
                f"(submission {rec.submission_id}); --force uploads again."
            )
        else:
            console.print(
                f"[cyan]•[/cyan] {rec.model_name}: {name} is valid for round {rec.round} "
                "(dry run: nothing uploaded)."
            )


def render_validation(report: ValidationReport) -> None:
    console.print(render(report.scores, title="Validation per era (main target)"))
    for note in report.notes:
        console.print(f"[yellow]Note:[/yellow] {note}", highlight=False)
