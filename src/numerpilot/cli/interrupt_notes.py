"""What a Ctrl-C kept: the line after "Interrupted.", read from the disk (the file a command
writes last is as it was, or new and whole), not guessed from where the Ctrl-C landed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

#: What the Ctrl-C that ended this command kept and lost, said after "Interrupted.".
_INTERRUPT_NOTE: list[str] = []


def _state(path: Path) -> tuple[int, int, int] | None:
    """What tells a file replaced (atomically: a new inode) from the one seen before."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_ino, info.st_mtime_ns, info.st_size


@contextlib.contextmanager
def on_interrupt(marker: Path, kept: str, replaced: str) -> Iterator[None]:
    """A Ctrl-C inside the block says ``kept`` after "Interrupted." when the file ``marker``
    (the last file the block writes) is as it was, else ``replaced``: what the user has
    now, checked on the disk rather than guessed from where the Ctrl-C landed."""
    before = _state(marker)
    try:
        yield
    except KeyboardInterrupt:
        if not _INTERRUPT_NOTE:  # the innermost block knows best
            _INTERRUPT_NOTE.append(kept if _state(marker) == before else replaced)
        raise


def interrupt_note(*, reset: bool = False) -> str:
    """What :func:`on_interrupt` noted ("" if nothing); ``reset``: forget it (a new command)."""
    note = _INTERRUPT_NOTE[0] if _INTERRUPT_NOTE else ""
    if reset:
        _INTERRUPT_NOTE.clear()
    return note


def models_note(models: Path) -> contextlib.AbstractContextManager[None]:
    """A Ctrl-C inside says whether the models in use changed (``models/manifest.json``,
    which names them, is replaced last)."""
    from numerpilot.modeling.manifest import MANIFEST

    return on_interrupt(
        models / MANIFEST,
        "No new models were put in use; the ones in use before (if any) are kept.",
        "The new models were saved whole and are in use ('numerpilot models rollback' goes back).",
    )
