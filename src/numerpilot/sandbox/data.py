"""The sandbox's datasets: one synthetic version generated once, a fresh live era per round.

The historical files (train, validation, features, meta model, benchmarks) are generated
once into ``<data>/base`` and reused while the spec is unchanged. Each round gets its own
live era drawn from the same generative "world" with a round-specific seed, so a model
trained on the served history really has an edge on it; the live targets are kept hidden
in ``<data>/rounds/<n>/hidden.parquet`` until the round resolves.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from numerpilot.data import layout, synthetic, synthetic_io
from numerpilot.data.synthetic import SyntheticSpec
from numerpilot.io import atomic_path

#: Versions the sandbox lists (newest last); they share the same files.
VERSIONS = ("v5.2", "v5.3")
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


class SandboxData:
    """Generates and caches the files the sandbox serves, under ``root``."""

    def __init__(self, root: Path, spec: SyntheticSpec) -> None:
        self.root = Path(root)
        self.spec = spec
        self._lock = threading.Lock()

    @property
    def base(self) -> Path:
        return self.root / "base"

    def ensure_base(self) -> None:
        """Generate the historical files unless a cache for the same spec exists."""
        with self._lock:
            if not synthetic_io.is_current(self.spec, self.base):
                synthetic_io.write_synthetic(self.spec, self.base)

    def path(self, name: str, round_number: int) -> Path:
        """The file to serve for ``name`` (per-round files for the given round)."""
        if name in PER_ROUND_FILES:
            return self._round_dir(round_number) / name
        return self.base / name

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
