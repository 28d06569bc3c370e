"""Progress bars on the console: a step's, and a member's with its trees, holdout score and
time left; on a narrow terminal only the description and the bar give way, never a number."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from rich.progress import ProgressColumn
    from rich.table import Column

    from numerpilot.progress import Advance


class RichProgressReporter:
    """Progress bars on the console (one line per finished step when not a terminal)."""

    def __init__(self, rich_console: Console) -> None:
        self._console = rich_console

    @contextlib.contextmanager
    def task(self, description: str, total: int | None) -> Iterator[Advance]:
        if not self._console.is_terminal:
            yield lambda steps: None
            self._console.print(f"✓ {description}")
            return
        from rich.progress import Progress

        columns = step_columns(self._console.width)
        with Progress(*columns, console=self._console, transient=True) as bar:
            task_id = bar.add_task(description, total=total)
            yield lambda steps: bar.advance(task_id, steps)
        self._console.print(f"[green]✓[/green] {description}")

    @contextlib.contextmanager
    def scored_task(
        self, description: str, total: int
    ) -> Iterator[Callable[[int, float | None], None]]:
        """A bar of trees with the current holdout score and the time left."""
        if not self._console.is_terminal:
            yield lambda steps, score: None
            self._console.print(f"✓ {description}")
            return
        from rich.progress import Progress

        columns = member_columns(self._console.width)
        with Progress(*columns, console=self._console, transient=True) as bar:
            task_id = bar.add_task(description, total=total, score="")

            def update(steps: int, score: float | None) -> None:
                if score is None:
                    bar.advance(task_id, steps)
                else:
                    bar.update(task_id, advance=steps, score=f"holdout {score:.4f}")

            yield update
        self._console.print(f"[green]✓[/green] {description}")


#: Terminal widths under which a bar drops what no longer fits beside its numbers: half
#: of the bar, then the bar, a member's "trees", its score (counts and time stay whole).
_SHORT_BAR_BELOW = 140
_NO_BAR_BELOW = 60
_SHORT_SCORE_BELOW = 70
_NO_SCORE_BELOW = 40


def step_columns(width: int = 80) -> tuple[ProgressColumn, ...]:
    """A step's bar on a terminal ``width`` wide: description, bar, steps done of all, time
    elapsed. Only the description (cut with "…") and the bar shrink: a number never does."""
    from rich.progress import MofNCompleteColumn, SpinnerColumn, TimeElapsedColumn

    return (
        SpinnerColumn(table_column=_whole()),
        _description(),
        *_bar(width),
        MofNCompleteColumn(table_column=_whole()),
        TimeElapsedColumn(table_column=_whole()),
    )


def member_columns(width: int = 120) -> tuple[ProgressColumn, ...]:
    """A member's bar on a terminal ``width`` wide: trees done of all, the current holdout
    score, the time left; the description and the bar shrink, never a number."""
    from rich.progress import (
        MofNCompleteColumn,
        SpinnerColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    trees = "{task.fields[score]}" if width < _SHORT_SCORE_BELOW else "trees  {task.fields[score]}"
    score = () if width < _NO_SCORE_BELOW else (TextColumn(trees, table_column=_whole()),)
    return (
        SpinnerColumn(table_column=_whole()),
        _description(),
        *_bar(width),
        MofNCompleteColumn(table_column=_whole()),
        *score,
        TimeRemainingColumn(table_column=_whole()),
    )


def _whole() -> Column:
    """A column that is never narrowed nor wrapped (a number, a spinner)."""
    from rich.table import Column

    return Column(no_wrap=True)


def _bar(width: int) -> tuple[ProgressColumn, ...]:
    """The bar, which gives up its room first: 40 cells, 20 on a terminal under 140 columns,
    none under 60."""
    from rich.progress import BarColumn

    if width < _NO_BAR_BELOW:
        return ()
    return (BarColumn(bar_width=20 if width < _SHORT_BAR_BELOW else 40),)


def _description() -> ProgressColumn:
    """The task's description on one line, cut with "…" where the line is short (its
    column may narrow: TextColumn's own may not)."""
    from rich.progress import Task, TextColumn
    from rich.table import Column
    from rich.text import Text

    class OneLine(TextColumn):
        def render(self, task: Task) -> Text:
            text = super().render(task)
            text.no_wrap, text.overflow = True, "ellipsis"
            return text

    return OneLine("[progress.description]{task.description}", table_column=Column())
