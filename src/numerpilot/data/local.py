"""Which dataset folder on this machine a command works with (one rule for all of them)."""

from __future__ import annotations

import logging
from pathlib import Path

from numerpilot.data.layout import DEMO_VERSION, REQUIRED_FILES, TRAIN, version_key

log = logging.getLogger(__name__)

#: Incomplete folders already reported, with what they lacked (a command asks many times).
_reported: set[tuple[Path, tuple[str, ...]]] = set()


def local_versions(root: Path) -> list[str]:
    """Dataset versions present under ``root`` (``v5.2`` …), oldest first."""
    if not root.is_dir():
        return []
    found = [p.name for p in root.iterdir() if p.is_dir() and version_key(p.name) != (-1,)]
    return sorted(found, key=version_key)


def missing_files(folder: Path) -> list[str]:
    """What a version folder lacks of :data:`REQUIRED_FILES`: ``train`` reads train,
    validation and features.json, ``predict`` and ``submit`` live and features.json. One
    rule for all of them, so that they all take the same folder."""
    return [name for name in REQUIRED_FILES if not (folder / name).exists()]


def own_dataset(folder: Path) -> bool:
    """Whether ``folder`` holds a dataset of the user's own: train.parquet in a folder that
    is neither a version folder ('v5.2') that 'download' writes nor the demo data's."""
    return (
        version_key(folder.name) == (-1,)
        and folder.name != DEMO_VERSION
        and (folder / TRAIN).exists()
    )


def local_dataset(root: Path, version: str) -> Path | None:
    """The dataset folder under ``root``: the pinned ``version`` (complete or not: what it
    lacks is named when it is read); for ``"newest"`` the newest version folder here that
    holds every file of :data:`REQUIRED_FILES` (a newer one that does not, say an
    interrupted download, is skipped with a warning; when none does, the newest), else
    ``root`` itself when it holds the files (a dataset of your own); None when there is
    none. What ``predict`` reads is what ``submit`` checks."""
    if version != "newest":
        return root / version
    local = local_versions(root)
    if not local:
        return root if (root / TRAIN).exists() else None
    complete = [name for name in local if not missing_files(root / name)]
    if not complete or complete[-1] == local[-1]:
        return root / local[-1]
    chosen = root / complete[-1]
    for name in local[local.index(complete[-1]) + 1 :]:
        _report_skipped(root / name, chosen)
    return chosen


def _report_skipped(folder: Path, chosen: Path) -> None:
    missing = tuple(missing_files(folder))
    if (folder, missing) in _reported:
        return
    _reported.add((folder, missing))
    log.warning(
        "%s is incomplete (no %s; an interrupted download?) and was skipped: using %s. Run "
        "'numerpilot download' to finish it.",
        folder, ", ".join(missing), chosen,
    )  # fmt: skip
