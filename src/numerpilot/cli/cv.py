"""CLI command: cv (era cross-validation, optionally comparing two configurations)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from numerpilot.cli.app import (
    ClusterOption,
    DemoOption,
    WorkdirOption,
    app,
    console,
)
from numerpilot.cli.interrupt_notes import on_interrupt

if TYPE_CHECKING:
    from rich.table import Table

    from numerpilot.pipeline.cv_results import Comparison, CVResult


@app.command(rich_help_panel="Analysis")
def cv(
    directory: WorkdirOption = Path("."),
    demo: DemoOption = False,
    compare_with: Annotated[
        Path | None,
        typer.Option(
            "--compare",
            metavar="TOML",
            exists=True,
            dir_okay=False,
            help="Another numerpilot.toml, cross-validated on the same folds: per-era "
            "difference and its t-statistic.",
        ),
    ] = None,
    cluster: ClusterOption = None,
) -> None:
    """Cross-validate the ensemble by era: walk-forward or expanding folds, purged per
    target horizon. Writes reports/cv.json and reports/cv.html."""
    from numerpilot.cli.core import _context
    from numerpilot.cli.render import print_report_line, print_scores, print_table
    from numerpilot.pipeline.cv import run_cv
    from numerpilot.pipeline.cv_compare import run_compare
    from numerpilot.pipeline.cv_results import REPORT_HTML, REPORT_JSON

    if cluster is not None:
        from numerpilot.modeling.dask_address import check_address

        check_address(cluster)
    ctx, reporter = _context(directory, demo, ("reports",), trains=True)
    _check_reports(ctx.workdir.reports)
    kept = f"{REPORT_JSON} and {REPORT_HTML} in {ctx.workdir.reports} are as they were."
    with on_interrupt(ctx.workdir.reports / REPORT_JSON, kept, "The new report is whole."):
        if compare_with is None:
            result, comparison = run_cv(ctx, reporter, cluster=cluster), None
        else:
            result, _, comparison = run_compare(ctx, compare_with, reporter, cluster=cluster)
        from numerpilot.pipeline.cv_results import write_cv_report

        write_cv_report(ctx, result, comparison, str(compare_with or ""))
    for table in _folds_tables(result):
        print_table(table)
    print_scores(result.overall, "Out-of-fold scores, all folds")
    for note in result.overall.notes:
        console.print(f"[yellow]Note:[/yellow] {escape(note)}", highlight=False)
    if comparison is not None:
        other = str(compare_with)
        print_table(_scores_table(comparison, other))
        print_table(_comparison_table(comparison))
        for note in comparison.notes:
            print_table(f"[yellow]Note:[/yellow] {escape(note)}")
    reports = ctx.workdir.reports
    print_report_line(reports / REPORT_HTML, f"folds and per-era scores: {REPORT_JSON}")


def _check_reports(reports: Path) -> None:
    """Refuse, before any fit, a report path that is a folder: writing the report found it
    only after the whole cross-validation, whose work was then lost."""
    from numerpilot.errors import LocalError
    from numerpilot.pipeline.cv_results import REPORT_HTML, REPORT_JSON

    for path in (reports / REPORT_JSON, reports / REPORT_HTML):
        if path.is_dir():
            raise LocalError(
                f"{path} is a folder, not a file: move it away (cv writes its report there), "
                "then run cv again."
            )


def _folds_tables(result: CVResult) -> list[Table]:
    """The folds' eras and ensemble scores: one table, or (narrower than it) two, the eras
    and the scores, each row led by its fold, so that no era range wraps or number is cut."""
    from numerpilot.pipeline.cv_results import ENSEMBLE
    from numerpilot.scoring.report import format_metric

    keys = ("corr_mean", "corr_sharpe", "corr_max_drawdown", "mmc_mean", "fnc_mean")
    rows = []
    for f in result.folds:
        s = f.scores.summary(ENSEMBLE)
        fit, test = f.split.fit, f.split.holdout
        rows.append([str(f.number), f"{fit[0]}–{fit[-1]} ({len(fit)})",
                     f"{test[0]}–{test[-1]} ({len(test)})",
                     *(format_metric(k, s.get(k)) for k in keys)])  # fmt: skip
    heads = ("fold", "train eras", "test eras", "CORR", "sharpe", "drawdown", "MMC", "FNC")
    title = (f"Folds ({result.scheme}, purge {result.purge} + embargo {result.embargo} eras), "
             "ensemble")  # fmt: skip
    whole = _table(title, heads, rows)
    if (
        console.measure(whole, options=console.options.update_width(10_000)).maximum
        <= console.width
    ):
        return [whole]
    eras, scores = [0, 1, 2], [0, *range(3, len(heads))]
    return [
        _table(title, [heads[i] for i in eras], [[r[i] for i in eras] for r in rows]),
        _table("", [heads[i] for i in scores], [[r[i] for i in scores] for r in rows]),
    ]


def _table(title: str, heads: Sequence[str], rows: list[list[str]]) -> Table:
    from rich import box
    from rich.table import Table

    table = Table(title=title or None, box=box.SIMPLE)
    for head in heads:
        table.add_column(head, justify="right", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    return table


def _scores_table(comparison: Comparison, other: str) -> Table:
    """Both configs' key ensemble scores side by side, over the same folds."""
    from rich import box
    from rich.table import Table

    from numerpilot.report.cv_page import SCORE_LABELS
    from numerpilot.scoring.report import format_metric

    this, that = comparison.scores.get("this", {}), comparison.scores.get("other", {})
    console.print(f"\nThis config and the other config, {escape(other)}, on the same folds:",
                  soft_wrap=True)  # fmt: skip
    table = Table(box=box.SIMPLE)
    for head in ("", "this config", "other config"):
        table.add_column(head, justify="right" if head else "left")
    for key, label in SCORE_LABELS:
        if key in this or key in that:
            table.add_row(
                label, format_metric(key, this.get(key)), format_metric(key, that.get(key))
            )
    return table


def _comparison_table(comparison: Comparison) -> Table:
    from rich import box
    from rich.table import Table

    from numerpilot.report.cv_page import COMPARE_KEYS
    from numerpilot.scoring.report import format_metric

    s = comparison.summary()
    console.print("The other config minus this config: ensemble CORR per era.")
    table = Table(box=box.SIMPLE)
    table.add_column("")
    table.add_column("value", justify="right")
    for key, label in COMPARE_KEYS:
        table.add_row(label, format_metric(key, s[key]))
    return table
