"""The typer app, the shared console and the error-to-exit-code mapping."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Progress as RichProgress

from numerpilot.credentials import redact
from numerpilot.errors import NumerpilotError
from numerpilot.progress import Advance
from numerpilot.workdir import Workdir

app = typer.Typer(
    name="numerpilot",
    help="Autopilot for the Numerai tournaments: data, training, validation, submission.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

WorkdirOption = Annotated[
    Path,
    typer.Option("--dir", "-C", help="Work directory (holds numerpilot.toml).", file_okay=False),
]


def workdir(path: Path) -> Workdir:
    return Workdir(path.resolve())


class RichProgressReporter:
    """Progress bars on the console (quiet when output is not a terminal)."""

    def __init__(self, rich_console: Console) -> None:
        self._console = rich_console

    @contextlib.contextmanager
    def task(self, description: str, total: int | None) -> Iterator[Advance]:
        if not self._console.is_terminal:  # logs and pipes get one line per finished step
            yield lambda steps: None
            self._console.print(f"✓ {description}")
            return
        columns = (
            SpinnerColumn(),
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with RichProgress(*columns, console=self._console, transient=True) as bar:
            task_id = bar.add_task(description, total=total)
            yield lambda steps: bar.advance(task_id, steps)
        self._console.print(f"[green]✓[/green] {description}")


def progress() -> RichProgressReporter:
    return RichProgressReporter(console)


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log details.")] = False,
) -> None:
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def main() -> None:
    """Console entry point: expected failures become one red line and an exit code."""
    try:
        app(standalone_mode=False)
    except NumerpilotError as error:
        err_console.print(f"[red]Error:[/red] {redact(str(error))}", highlight=False)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        err_console.print("[yellow]Interrupted.[/yellow]")
        sys.exit(130)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        sys.exit(1)
    except Exception as error:  # click usage errors
        import click

        if isinstance(error, click.ClickException):
            error.show()
            sys.exit(error.exit_code)
        raise
