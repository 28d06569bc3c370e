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


class _Silent:
    @contextlib.contextmanager
    def task(self, description: str, total: int | None) -> Iterator[Advance]:
        yield lambda steps: None


SILENT: Progress = _Silent()
