"""``reports/status.html``: per model and round, states and scores, and the cumulative CORR
and MMC of every model over rounds (one self-contained page, like the validation report)."""

from __future__ import annotations

import errno
from html import escape
from pathlib import Path

import numpy as np

from numerpilot.automation.status import StatusReport
from numerpilot.automation.status_summary import (
    SUMMARY_COLUMNS,
    has_scores,
    rounds_shown,
    summary_cells,
)
from numerpilot.errors import error_number, from_os_error
from numerpilot.io import write_text_atomic
from numerpilot.report.page import CSS, context_table, figure_html
from numerpilot.report.plots import render_plots
from numerpilot.scoring.per_era import PerEra
from numerpilot.scoring.report import ScoreReport


def scores_by_round(status: StatusReport) -> ScoreReport:
    """CORR and MMC of every model (columns) over the rounds (as eras), NaN where none."""
    names = tuple(m.name for m in status.models)
    rounds = sorted({r.round for m in status.models for r in m.rounds})
    labels = np.array([str(n) for n in rounds])
    metrics = {}
    for key in ("corr", "mmc"):
        values = np.full((len(rounds), len(names)), np.nan)
        for j, model in enumerate(status.models):
            for r in model.rounds:
                value = getattr(r, key)
                if value is not None:
                    values[rounds.index(r.round), j] = value
        if np.isfinite(values).any():
            metrics[key] = PerEra(labels, values)
    return ScoreReport(names, metrics)


def _num(value: float | None, fmt: str = "+.4f") -> str:
    return "–" if value is None else format(value, fmt)


def _rounds_table(status: StatusReport) -> str:
    head = "".join(f"<th>{escape(m.name)}</th>" for m in status.models)
    numbers = sorted({r.round for m in status.models for r in m.rounds}, reverse=True)
    rows = []
    for number in numbers:
        cells = []
        for model in status.models:
            found = [r for r in model.rounds if r.round == number]
            if not found:
                cells.append("<td>–</td>")
                continue
            r = found[0]
            text = f"{escape(r.state)}<br>CORR {_num(r.corr)} MMC {_num(r.mmc)}"
            if r.payout is not None:
                text += f"<br>payout / stake {_num(r.payout)}"
            cells.append(f'<td class="{escape(r.state)}">{text}</td>')
        rows.append(f"<tr><th>{number}</th>{''.join(cells)}</tr>")
    return f'<table class="rounds"><tr><th>round</th>{head}</tr>{"".join(rows)}</table>'


def _failures(status: StatusReport) -> str:
    """Why each failed round failed, as the ledger recorded it (the terminal prints the
    same lines under its table); empty when none did."""
    items = "".join(f"<li>{escape(failure)}</li>" for failure in status.failures())
    return f'<p>Why rounds failed:</p><ul class="failures">{items}</ul>' if items else ""


def _models_table(status: StatusReport) -> str:
    rows = "".join(
        f'<tr><td class="metric">{escape(m.name)}</td><td>{_num(m.stake, ".2f")}</td>'
        f"<td>{_num(m.pending_payout, '+.4f')}</td><td>{_num(m.paid, '+.4f')}</td></tr>"
        for m in status.models
    )
    return (
        '<table class="summary"><tr><th class="metric">model</th><th>stake (NMR)</th>'
        f"<th>pending payout</th><th>paid</th></tr>{rows}</table>"
    )


def _summary_table(status: StatusReport) -> str:
    """The terminal's scores summary, cell for cell (none when no round is scored)."""
    if not has_scores(status):
        return ""
    head = "".join(f"<th>{escape(c)}</th>" for c in SUMMARY_COLUMNS[1:])
    rows = []
    for model in status.models:
        name, *cells = summary_cells(model)
        rows.append(f'<tr><td class="metric">{escape(name)}</td>'
                    + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")  # fmt: skip
    return (
        f"<h2>Scores of the {escape(rounds_shown(status))}</h2>"
        f'<table class="summary scores"><tr><th class="metric">model</th>{head}</tr>'
        f"{''.join(rows)}</table>"
    )


def render_status_html(status: StatusReport, context: dict[str, str]) -> str:
    plots = render_plots(
        scores_by_round(status), keys=("corr_cumulative", "mmc_cumulative"), x_label="round"
    )
    figures = "\n".join(figure_html(p) for p in plots) or "<p>No resolved scores yet.</p>"
    notes = "".join(f"<li>{escape(n)}</li>" for n in status.notes) or "<li>none</li>"
    extra_css = (
        ".rounds td{font-size:.8rem}.missed,.failed{color:#c92a2a}.late{color:#b7791f}"
        "ul.failures{font-size:.9rem;color:#c92a2a}"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>numerpilot status</title>
<style>{CSS}{extra_css}</style></head><body>
<h1>numerpilot status</h1>
{context_table(context)}
<h2>Models</h2>
{_models_table(status)}
{_summary_table(status)}
<h2>Rounds</h2>
{_rounds_table(status)}
{_failures(status)}
<h2>Scores over rounds</h2>
{figures}
<h2>Notes</h2><ul class="notes">{notes}</ul>
<footer>Stakes and payouts are read only: numerpilot never changes a stake.</footer>
</body></html>
"""


def write_status_report(status: StatusReport, dest: Path, context: dict[str, str]) -> Path:
    """Write the page to ``dest`` atomically."""
    write_text_atomic(dest, render_status_html(status, context))
    return dest


def try_write_status_report(
    status: StatusReport, dest: Path, context: dict[str, str]
) -> Path | str:
    """Write the page to ``dest``, or return why it could not be (a read-only work folder,
    a full disk, ``reports`` a file): the page is an extra, and the table ``status`` printed
    stands without it."""
    try:
        return write_status_report(status, dest, context)
    except OSError as error:
        return page_not_written(dest, error)


def page_not_written(dest: Path, error: OSError) -> str:
    """One line: which page was not written, why, and what to do to get it next time."""
    return f"{dest} was not written; the tables above are complete without it. {_why(dest, error)}"


def _why(dest: Path, error: OSError) -> str:
    """What the system refused and what to do, naming what the user can change: the
    nearest folder that exists (not ``reports``, which a read-only work folder lacks)."""
    folder, number = dest.parent, error_number(error)
    if number == errno.ENAMETOOLONG:  # first: no path of that length can be looked at
        return (f"File name too long: {dest}; run status in a work folder with a shorter "
                "path (-C).")  # fmt: skip
    if folder.exists() and not folder.is_dir():
        return f"{folder} is a file, not a folder: move it away, then run status again."
    if number == errno.EISDIR and dest.is_dir() and not dest.is_symlink():
        return f"{dest} is a folder, not a file: move it away, then run status again."
    if number in (errno.EROFS, errno.EACCES, errno.EPERM):
        error = OSError(number, error.strerror, str(_nearest_existing(folder)))
    return str(from_os_error(error))


def _nearest_existing(folder: Path) -> Path:
    """``folder``, or its nearest parent that exists (the one whose mode or mount matters)."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder
