"""Which dataset folder on this machine a command works with (one rule for all of them)."""

from __future__ import annotations

from pathlib import Path

from numerpilot.data.layout import TRAIN, version_key


def local_versions(root: Path) -> list[str]:
    """Dataset versions present under ``root`` (``v5.2`` …), oldest first."""
    if not root.is_dir():
        return []
    found = [p.name for p in root.iterdir() if p.is_dir() and version_key(p.name) != (-1,)]
    return sorted(found, key=version_key)


def local_dataset(root: Path, version: str) -> Path | None:
    """The dataset folder under ``root``: the pinned ``version``; for ``"newest"`` the newest
    version folder here, else ``root`` itself when it holds the files (a dataset of your
    own); None when there is none. What ``predict`` reads is what ``submit`` checks."""
    if version != "newest":
        return root / version
    local = local_versions(root)
    if local:
        return root / local[-1]
    return root if (root / TRAIN).exists() else None
