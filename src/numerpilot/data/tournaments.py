"""Where each tournament's dataset lives on Numerai and on disk, and its live universe.

Classic's files are listed as ``v5.2/train.parquet``; Signals' as ``signals/v2.1/...`` and
Crypto's as ``crypto/v2.0/...``. The version is discovered from ``list_datasets`` (newest
by default) and the files land in ``<data>/<prefix><version>/`` (``data/signals/v2.1/``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from numerai_tools import submissions as nt

from numerpilot.data import layout
from numerpilot.errors import DataError
from numerpilot.io import write_json_atomic


@dataclass(frozen=True)
class DatasetLayout:
    """One tournament's files: which are needed, which are optional, which change per round."""

    tournament: str
    prefix: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    live: str
    #: the id columns a submission may use (numerai-tools' lists)
    id_columns: tuple[str, ...]

    @property
    def per_round(self) -> tuple[str, ...]:
        return (self.live, layout.LIVE_BENCHMARKS) if self.tournament == "classic" else (self.live,)

    def name(self, version: str) -> str:
        """The dataset's name on Numerai and its folder under the data root."""
        return f"{self.prefix}{version}"

    def version_of(self, filename: str) -> str | None:
        """The version of a listed file of this tournament (None: another tournament's)."""
        if self.prefix:
            if not filename.startswith(self.prefix):
                return None
            filename = filename[len(self.prefix) :]
        elif filename.startswith(tuple(p.prefix for p in LAYOUTS.values() if p.prefix)):
            return None
        version, slash, _ = filename.partition("/")
        return version if slash and layout.version_key(version) != (-1,) else None


LAYOUTS = {
    "classic": DatasetLayout(
        "classic", "", layout.REQUIRED_FILES,
        (layout.META_MODEL, layout.VALIDATION_BENCHMARKS, layout.LIVE_BENCHMARKS),
        layout.LIVE, tuple(nt.NUMERAI_ALLOWED_ID_COLS),
    ),
    "signals": DatasetLayout(
        "signals", "signals/", (layout.TRAIN, layout.VALIDATION, layout.LIVE),
        ("live_example_preds.parquet", "validation_example_preds.parquet"),
        layout.LIVE, tuple(sorted(nt.SIGNALS_ALLOWED_ID_COLS, key=lambda c: c != "numerai_ticker")),
    ),
    "crypto": DatasetLayout(
        "crypto", "crypto/", (layout.TRAIN, "live_universe.parquet"), (),
        "live_universe.parquet", tuple(nt.CRYPTO_ALLOWED_ID_COLS),
    ),
}  # fmt: skip


def read_universe(folder: Path, tournament: str) -> pd.DataFrame:
    """The live universe of a Signals/Crypto dataset folder: its id columns, as text."""
    return read_universe_file(folder / LAYOUTS[tournament].live, tournament)


def read_universe_file(path: Path, tournament: str) -> pd.DataFrame:
    """The id columns of a live universe file, as text."""
    spec = LAYOUTS[tournament]
    if not path.exists():
        raise DataError(f"{path} is missing: run 'numerpilot download'.")
    try:
        names = pq.read_schema(path).names
        columns = [c for c in spec.id_columns if c in names]
        frame = pq.read_table(path, columns=columns).to_pandas()
    except Exception as error:  # pyarrow raises several unrelated types on a broken file
        raise DataError(f"{path} is not a readable parquet file ({error}); download it "
                        "again with 'numerpilot download'.") from None  # fmt: skip
    if not columns:
        raise DataError(f"{path} has none of the id columns {', '.join(spec.id_columns)}.")
    return pd.DataFrame(frame.astype(str))


def ensure_features_json(folder: Path) -> Path:
    """``features.json`` for a Signals/Crypto dataset that has none: every ``feature_*``
    column of ``train.parquet`` as the sets ``all``, ``medium`` and ``small``, and its
    ``target*`` columns, so the Classic training path reads it unchanged."""
    dest = folder / layout.FEATURES_JSON
    if dest.exists():
        return dest
    names = pq.read_schema(folder / layout.TRAIN).names
    features = [n for n in names if n.startswith("feature_")]
    targets = [n for n in names if n == layout.MAIN_TARGET or n.startswith("target_")]
    sets = {"all": features, "medium": features, "small": features}
    write_json_atomic(dest, {"feature_sets": sets, "targets": targets})
    return dest
