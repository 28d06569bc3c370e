"""What the daemon remembers within a round, so that a poll does not redo it: the live
predictions (with the files they were made from) and the refusals that came before any
upload (a Signals churn over the limit, a file Numerai's rules refuse)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

#: A file's identity and version: (inode, mtime in ns, size), None when it is missing.
Stamp = tuple[int, int, int] | None


def stamp(path: Path) -> Stamp:
    """``path``'s inode, modification time and size (None if it is missing)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


@dataclass
class RoundMemory:
    """predicted: (round, stamps of the files the predictions came from) and the stamp of
    the predictions file; refused: per (round, model), the stamp of the file refused and why."""

    predicted: tuple[tuple[int, tuple[Stamp, ...]], Stamp] | None = None
    refused: dict[tuple[int, str], tuple[Stamp, str]] = field(default_factory=dict)

    def predictions(
        self, number: int, sources: list[Path], dest: Path, predict: Callable[[], Path]
    ) -> Path:
        """``dest`` when it holds round ``number``'s predictions from ``sources`` as they are
        now; else ``predict()`` (which writes ``dest``), remembered."""
        key = (number, tuple(stamp(p) for p in sources))
        done = self.predicted
        if done is not None and done[0] == key and done[1] is not None and stamp(dest) == done[1]:
            return dest
        path = predict()
        self.predicted = (key, stamp(path))
        return path

    def refusal(self, number: int, model: str, path: Path) -> str | None:
        """Why ``path`` was refused for ``model`` in round ``number`` (None: it was not, or
        it changed since)."""
        refused = self.refused.get((number, model))
        return refused[1] if refused is not None and refused[0] == stamp(path) else None

    def refuse(self, number: int, model: str, path: Path, message: str) -> None:
        self.refused[(number, model)] = (stamp(path), message)
