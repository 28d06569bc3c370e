"""The sandbox's datasets: one synthetic version generated once, a fresh live era per round.

The historical files (train, validation, features, meta model, benchmarks) are generated
once into ``<data>/base`` and reused while the spec is unchanged. Each round gets its own
live era drawn from the same generative "world" with a round-specific seed, so a model
trained on the served history really has an edge on it; the live targets are kept hidden
in ``<data>/rounds/<n>/hidden.parquet`` until the round resolves.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from numerpilot.data import layout, synthetic, synthetic_io
from numerpilot.data.synthetic import SyntheticSpec
from numerpilot.errors import LocalError
from numerpilot.io import atomic_path, write_json_atomic

#: Versions the sandbox lists (newest last); they share the same files, but every version
#: after the first adds the feature group :data:`NEW_GROUP` to ``features.json`` (Numerai's
#: v5.3 added "quantum").
VERSIONS = ("v5.2", "v5.3")
NEW_GROUP = "quantum"
#: Files listed per version.
SERVED_FILES = (
    *layout.REQUIRED_FILES,
    layout.META_MODEL,
    layout.VALIDATION_BENCHMARKS,
    layout.LIVE_BENCHMARKS,
)
#: Files that change every round.
PER_ROUND_FILES = (layout.LIVE, layout.LIVE_BENCHMARKS)
HIDDEN = "hidden.parquet"
META_COLUMN = "meta"


@dataclass(frozen=True)
class LiveTruth:
    """What the sandbox knows about a round's live era and the participants do not."""

    ids: np.ndarray
    target: np.ndarray
    meta_model: np.ndarray


def _next(version: str) -> str:
    """The version after ``version`` (``v5.2`` -> ``v5.3``)."""
    head, _, last = version.rpartition(".")
    return f"{head}.{int(last) + 1}" if last.isdigit() and head else f"{version}.1"


class SandboxData:
    """Generates and caches the files the sandbox serves, under ``root``."""

    def __init__(self, root: Path, spec: SyntheticSpec, versions: Sequence[str] = VERSIONS) -> None:
        self.root = Path(root)
        self.spec = spec
        self._lock = threading.Lock()
        self._versions = list(versions)
        if not self._versions or any(layout.version_key(v) == (-1,) for v in self._versions):
            raise LocalError(f"sandbox versions must look like v5.2, not {versions!r}")

    @property
    def versions(self) -> tuple[str, ...]:
        """The Classic versions listed now, oldest first."""
        with self._lock:
            return tuple(self._versions)

    def publish(self, version: str) -> tuple[str, ...]:
        """List a new, newer version from now on (Numerai publishing v5.3): its files are
        the same, its ``features.json`` has the group :data:`NEW_GROUP` too."""
        key = layout.version_key(version)
        with self._lock:
            newest = self._versions[-1]
            if key == (-1,) or key <= layout.version_key(newest):
                raise LocalError(f"a new version must be newer than {newest} and look like "
                                 f"{_next(newest)}, not {version!r}")  # fmt: skip
            self._versions.append(version)
            return tuple(self._versions)

    @property
    def base(self) -> Path:
        return self.root / "base"

    def ensure_base(self) -> None:
        """Generate the historical files unless a cache for the same spec exists."""
        with self._lock:
            if not synthetic_io.is_current(self.spec, self.base):
                synthetic_io.write_synthetic(self.spec, self.base)

    def path(self, name: str, round_number: int, version: str = "") -> Path:
        """The file to serve for ``name`` (per-round files for the given round; a later
        ``version``'s own ``features.json``)."""
        if name in PER_ROUND_FILES:
            return self._round_dir(round_number) / name
        if name == layout.FEATURES_JSON and version and version != self.versions[0]:
            return self._newer_features(version)
        return self.base / name

    def _newer_features(self, version: str) -> Path:
        """The base ``features.json`` with the feature group :data:`NEW_GROUP` added (every
        eighth feature of "all"), for a version after the first."""
        dest = self.root / "versions" / version / layout.FEATURES_JSON
        with self._lock:
            meta = json.loads((self.base / layout.FEATURES_JSON).read_text(encoding="utf-8"))
            meta["feature_sets"][NEW_GROUP] = meta["feature_sets"]["all"][::8]
            if not dest.exists() or json.loads(dest.read_text(encoding="utf-8")) != meta:
                dest.parent.mkdir(parents=True, exist_ok=True)
                write_json_atomic(dest, meta)
        return dest

    def _round_dir(self, number: int) -> Path:
        folder = self.root / "rounds" / str(number)
        with self._lock:
            if not (folder / HIDDEN).exists():
                self._make_round(number, folder)
        return folder

    def truth(self, number: int) -> LiveTruth:
        hidden = pd.read_parquet(self._round_dir(number) / HIDDEN)
        return LiveTruth(
            ids=hidden.index.to_numpy().astype(str),
            target=hidden[layout.MAIN_TARGET].to_numpy(dtype=np.float64),
            meta_model=hidden[META_COLUMN].to_numpy(dtype=np.float64),
        )

    def _make_round(self, number: int, folder: Path) -> None:
        round_ = synthetic.generate_live(self.spec, number)
        live, benchmarks = round_.live, round_.benchmarks
        hidden = pd.DataFrame(
            {layout.MAIN_TARGET: round_.target.astype(np.float64), META_COLUMN: round_.meta_model},
            index=live.index,
        )
        folder.mkdir(parents=True, exist_ok=True)
        for name, frame in (
            (layout.LIVE, live),
            (layout.LIVE_BENCHMARKS, benchmarks),
            (HIDDEN, hidden),
        ):
            with atomic_path(folder / name) as tmp:
                frame.to_parquet(tmp, index=True)
