"""Progress reporting that library code can call without printing anything itself.

The CLI passes a rich-backed :class:`Progress`; library code defaults to :data:`SILENT`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Protocol

Advance = Callable[[int], None]


class Progress(Protocol):
    def task(
        self, description: str, total: int | None
    ) -> contextlib.AbstractContextManager[Advance]:
        """A context whose value advances a progress bar by the given number of steps."""
        ...


#: Advances a member's bar by some trees and shows its current holdout score (or None).
Scored = Callable[[int, float | None], None]


class _Silent:
    @contextlib.contextmanager
    def task(self, description: str, total: int | None) -> Iterator[Advance]:
        yield lambda steps: None


SILENT: Progress = _Silent()


@contextlib.contextmanager
def member_task(progress: Progress, description: str, trees: int) -> Iterator[Scored]:
    """A bar for one member: trees done of ``trees``, the current holdout score and the
    time left, where ``progress`` can show them (its ``scored_task``); else a plain bar."""
    scored = getattr(progress, "scored_task", None)
    if scored is not None:
        with scored(description, trees) as update:
            yield update
        return
    with progress.task(description, trees) as advance:
        yield lambda steps, score: advance(steps)
