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


SCORES_TITLE = "Per-era scores (numerai-tools definitions)"


def _cells(report: ScoreReport) -> dict[str, list[str]]:
    """Each column's formatted summary values, in the order of the table's rows."""
    summaries = {col: report.summary(col) for col in report.columns}
    first = summaries[report.columns[0]]
    keys = [key for key, _ in _ROWS if key in first]
    return {col: [format_metric(key, s.get(key)) for key in keys] for col, s in summaries.items()}


def _groups(columns: list[str], cells: dict[str, list[str]], width: int) -> list[list[str]]:
    """Consecutive columns, as many per group as fit ``width`` at their natural width."""
    used = max(len(label) for _, label in _ROWS) + 1
    groups: list[list[str]] = [[]]
    start = used
    for col in columns:
        need = max(7, len(col), *(len(c) for c in cells[col])) + 2
        if groups[-1] and used + need > width:
            groups.append([])
            used = start
        groups[-1].append(col)
        used += need
    return groups


def render_tables(report: ScoreReport, title: str = SCORES_TITLE, width: int = 0) -> list[Table]:
    """The summary numbers of every column as rich tables (one column per prediction).

    Columns that do not fit ``width`` (0: one table) go to further tables, each titled
    with the columns it shows, so no column is ever cut off silently.
    """
    cells = _cells(report)
    keys = [key for key, _ in _ROWS if key in report.summary(report.columns[0])]
    labels = dict(_ROWS)
    groups = _groups(list(report.columns), cells, width) if width else [list(report.columns)]
    tables = []
    first = 1
    for group in groups:
        last = first + len(group) - 1
        part = f" (columns {first}-{last} of {len(cells)})" if len(groups) > 1 else ""
        table = Table(title=title + part, box=box.SIMPLE_HEAD, pad_edge=False)
        table.add_column("metric", no_wrap=True)
        for col in group:
            table.add_column(col, justify="right", no_wrap=True)
        for row, key in enumerate(keys):
            table.add_row(labels[key], *(cells[col][row] for col in group))
        tables.append(table)
        first = last + 1
    return tables


def print_scores(report: ScoreReport, title: str = SCORES_TITLE) -> None:
    """Print the score tables at the console's width."""
    for table in render_tables(report, title, console.width):
        console.print(table)


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
    print_scores(report.scores, title="Validation per era (main target)")
    for note in report.notes:
        console.print(f"[yellow]Note:[/yellow] {note}", highlight=False)
