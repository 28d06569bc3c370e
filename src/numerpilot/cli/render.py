"""Rich renderings shared by several commands."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from rich import box
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from numerpilot.cli.app import console, err_console
from numerpilot.scoring.report import ScoreReport, format_metric
from numerpilot.words import clock_time

if TYPE_CHECKING:
    from rich.console import RenderableType

    from numerpilot.automation.status import StatusReport
    from numerpilot.pipeline.validate import ValidationReport
    from numerpilot.submission.once import SubmitResult

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
    """Consecutive columns, as many per group as fit ``width`` at their natural width (a
    name wider than the room beside the metric labels wraps in its header)."""
    used = max(len(label) for _, label in _ROWS) + 1
    groups: list[list[str]] = [[]]
    start = used
    for col in columns:
        values = max(7, *(len(c) for c in cells[col]))
        need = max(values, min(len(col), width - start - 2)) + 2
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
        caption = title + part  # a table narrower than its title would wrap it
        fit = min(len(caption), width) if width else len(caption)
        table = Table(title=caption, box=box.SIMPLE_HEAD, pad_edge=False, min_width=fit)
        table.add_column("metric", no_wrap=True)
        for col in group:  # a number never wraps; a long name wraps in its header
            width_of_values = max(7, *(len(c) for c in cells[col]))
            table.add_column(col, justify="right", overflow="fold", min_width=width_of_values)
        for row, key in enumerate(keys):
            table.add_row(labels[key], *(cells[col][row] for col in group))
        tables.append(table)
        first = last + 1
    return tables


def print_scores(report: ScoreReport, title: str = SCORES_TITLE) -> None:
    """Print the score tables at the console's width."""
    for table in render_tables(report, title, console.width):
        print_table(table)


def print_table(table: RenderableType) -> None:
    """Print ``table`` (or any renderable, such as a line of markup); piped or redirected,
    without the spaces that pad or wrap its lines."""
    if console.is_terminal:
        console.print(table, highlight=False)
        return
    with console.capture() as captured:
        console.print(table, highlight=False)
    console.file.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


def print_report_line(page: Path, what: str = "") -> None:
    """``Report: PAGE (what)`` on one line, never wrapped (a path to copy) nor read as
    markup (a folder named ``[x]``)."""
    console.print(Text(f"Report: {page}{f' ({what})' if what else ''}"), soft_wrap=True,
                  highlight=False)  # fmt: skip


def print_page_outcome(page: Path | str) -> None:
    """``Report: PAGE``, or (a page that could not be written: why) a warning on stderr,
    one line, never read as markup."""
    if isinstance(page, Path):
        print_report_line(page)
        return
    err_console.print(Text.assemble(("Warning: ", "yellow"), page), soft_wrap=True,
                      highlight=False)  # fmt: skip


def submission_line(result: SubmitResult) -> str:
    """One line per model: what happened to its submission this round."""
    name, number, sid = escape(Path(result.path).name), result.round, result.submission_id
    result = replace(result, detail=escape(result.detail))  # Numerai's words, not markup
    late = " (late: scored, not staked)" if result.late else ""
    lines = {
        "uploaded": f"[green]✓[/green] {result.model_name}: submitted {name} for round {number}"
        f"{late} (submission {sid})." + (f" Note: {result.detail}." if result.detail else ""),
        "reconciled": f"[green]✓[/green] {result.model_name}: Numerai already holds a submission "
        f"for round {number} ({sid}); recorded, nothing uploaded.",
        "already_done": f"[yellow]•[/yellow] {result.model_name}: already submitted in round "
        f"{number} (submission {sid}"
        + (f"; {result.detail}" if result.detail else "")
        + "); --force uploads again.",
        "skipped": f"[yellow]•[/yellow] {result.model_name}: skipped: {result.detail.rstrip('.')}.",
        "uncertain": f"[red]?[/red] {result.model_name}: no answer confirmed the upload and "
        "Numerai does not list it yet"
        + (f" ({result.detail.rstrip('.')})" if result.detail else "")
        + "; run the command again: it asks Numerai first.",
        "dry_run": f"[cyan]•[/cyan] {result.model_name}: {name} is valid for round {number}{late}"
        " (dry run: nothing uploaded" + (f"; {result.detail}" if result.detail else "") + ").",
    }
    return lines[result.outcome]


def render_submissions(results: list[SubmitResult]) -> None:
    for result in results:
        print_table(submission_line(result))
        if result.note:
            print_table(f"  {escape(result.note)}")


def render_validation(report: ValidationReport) -> None:
    print_scores(report.scores, title=f"Validation per era (CORR against {report.target})")
    for note in report.notes:
        print_table(f"[yellow]Note:[/yellow] {escape(note)}")


_STATE_STYLE = {"submitted": "green", "late": "yellow", "due": "cyan", "unsure": "magenta",
                "skipped": "dim"}  # fmt: skip


def render_status(report: StatusReport) -> None:
    """The current round, then one table of models, one of their scores over the rounds
    shown (when any is scored) and one of recent rounds (on a terminal too narrow for a
    table: one line each, wrapped between words, never within a number)."""
    from numerpilot.automation.status_summary import has_scores, signed

    info = report.current
    when = "staked submissions" if info.is_open and not info.is_late else "late submissions"
    state = f"open for {when}" if info.is_open else "closed"
    print_table(
        f"Round {info.number} is {state} (scored on {info.target or '?'}; staking closes "
        f"{clock_time(info.close_staking_time)} UTC, round closes "
        f"{clock_time(info.close_time)} UTC)."
    )
    models = Table(box=box.SIMPLE_HEAD, title="Models (read only: numerpilot never stakes)")
    for col in ("model", "stake (NMR)", "pending payout", "paid"):  # numbers never wrap
        left = col == "model"
        models.add_column(col, justify="left" if left else "right", overflow="fold",
                          no_wrap=not left)  # fmt: skip
    for m in report.models:
        stake = "–" if m.stake is None else f"{m.stake:.2f}"
        models.add_row(escape(m.name), stake, signed(m.pending_payout), signed(m.paid))
    if not report.models:
        for note in report.notes:
            print_table(f"[yellow]Note:[/yellow] {escape(note)}")
        return
    _print_or_stack(models)
    if has_scores(report):
        _print_or_stack(_summary_table(report))
    rounds = Table(box=box.SIMPLE_HEAD, title="Recent rounds")
    numeric = ("CORR", "MMC", "payout / stake")
    for col in ("round", "model", "state", *numeric):
        rounds.add_column(col, justify="right" if col in numeric else "left", overflow="fold",
                          no_wrap=col in numeric or col == "round")  # fmt: skip
    for m in report.models:
        for r in m.rounds:
            style = _STATE_STYLE.get(r.state, "red")
            rounds.add_row(str(r.round), escape(m.name), f"[{style}]{r.state}[/{style}]",
                           signed(r.corr), signed(r.mmc), signed(r.payout))  # fmt: skip
    if rounds.row_count:  # no model with a round: no empty table (a note says why)
        _print_or_stack(rounds)
    for failure in report.failures():  # why, as the ledger recorded it
        console.print(f"[red]Failed:[/red] {escape(failure)}", highlight=False, soft_wrap=True)
    for note in report.notes:
        print_table(f"[yellow]Note:[/yellow] {escape(note)}")


_TWO_LINE_HEADS = {"rounds scored": "rounds\nscored", "CORR mean": "CORR\nmean",
                   "CORR sharpe": "CORR\nsharpe", "CORR max drawdown": "CORR max\ndrawdown",
                   "MMC mean": "MMC\nmean", "payout / stake, sum": "payout\nsum"}  # fmt: skip


def _summary_table(report: StatusReport) -> Table:
    """Per model, the scores of the rounds shown: how many are scored, their CORR mean,
    sharpe and max drawdown, MMC mean and the payout estimates' sum."""
    from numerpilot.automation.status_summary import SUMMARY_COLUMNS, rounds_shown, summary_cells

    title = (
        f"Scores of the {rounds_shown(report)} (payout: the estimates summed, per unit of stake)"
    )
    table = Table(box=box.SIMPLE_HEAD, title=title)
    for col in SUMMARY_COLUMNS:  # headers on two lines: the table fits 80 columns
        left = col == "model"
        head = _TWO_LINE_HEADS.get(col, col)
        table.add_column(head, justify="left" if left else "right", overflow="fold",
                         no_wrap=not left)  # fmt: skip
    for model in report.models:
        name, *cells = summary_cells(model)
        table.add_row(escape(name), *cells)
    return table


def _print_or_stack(table: Table) -> None:
    """``table`` when its cells fit the console unwrapped; else its title and one line per
    row, each cell named by its column ("model m1; stake (NMR) 1.00; ..."), wrapped
    between those pairs: a pair is never split (``MMC`` on one line and its value on the
    next), nor a number, nor a column dropped."""
    from rich.console import Group

    heads = [str(column.header) for column in table.columns]  # a header may take two lines
    names = [head.replace("\n", " ") for head in heads]
    rows = list(zip(*(list(column.cells) for column in table.columns), strict=True))
    natural = [max([*map(len, head.split("\n")), *(Text.from_markup(str(row[i])).cell_len
                                                     for row in rows)])
               for i, head in enumerate(heads)]  # fmt: skip
    # each column padded by a space either side, a divider between two, an edge either end
    if sum(natural) + 3 * len(names) + 1 <= console.width:
        print_table(table)
        return
    lines: list[Text] = [Text.from_markup(f"[bold]{table.title}[/bold]")]
    for row in rows:
        pairs = [Text.from_markup(f"{name} {cell}") for name, cell in zip(names, row, strict=True)]
        lines += _pair_lines(pairs, console.width - len(_BULLET))
    print_table(Group(*lines))


_BULLET = "  - "


def _pair_lines(pairs: list[Text], width: int) -> list[Text]:
    """One row's ``column value`` pairs joined by "; " into lines of at most ``width``
    cells (a longer pair alone on its line; a line the row goes on from ends in ";"), the
    first after "  - ", the rest under it."""
    lines: list[Text] = []
    line = Text()
    for pair in pairs:
        if line.cell_len and line.cell_len + len("; ;") + pair.cell_len > width:
            lines.append(Text.assemble(line, ";"))
            line = Text()
        line = Text.assemble(line, "; ", pair) if line.cell_len else pair.copy()
    lines.append(line)
    lead = [_BULLET] + [" " * len(_BULLET)] * (len(lines) - 1)
    return [Text.assemble(Text(lead[i]), text) for i, text in enumerate(lines)]
