"""Synthetic datasets on disk: written atomically, with a marker that makes them reusable."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pandas as pd

from numerpilot.data.synthetic import GENERATOR_VERSION, SyntheticSpec, generate
from numerpilot.errors import DataError, LocalError
from numerpilot.io import atomic_path, deferred_interrupt, json_text, write_json_atomic
from numerpilot.modeling.memory import available_bytes, gib

MARKER = ".synthetic.json"
#: Present while a dataset is being written: an interrupted ``demo-data`` leaves it behind.
WRITING = ".synthetic.writing"


def spec_marker(spec: SyntheticSpec) -> dict[str, object]:
    """What the marker file of a dataset written from ``spec`` holds."""
    return {
        **spec.__dict__,
        "target_names": list(spec.target_names),
        "generator": GENERATOR_VERSION,
    }


def is_current(spec: SyntheticSpec, folder: Path) -> bool:
    """True when ``folder`` holds a complete dataset written from ``spec`` by this generator."""
    marker = folder / MARKER
    if not marker.exists():
        return False
    return bool(json.loads(marker.read_text(encoding="utf-8")) == spec_marker(spec))


def peak_bytes(spec: SyntheticSpec) -> int:
    """Peak memory of :func:`generate` for ``spec``: measured 0.39 GB for 120,000 rows x
    240 features and 0.63 GB for 240,000 (float64 intermediates per cell, the 40
    auxiliary targets per row), with a margin."""
    rows = (spec.train_eras + spec.validation_eras) * spec.rows_per_era * 11 // 10
    return 300 * 2**20 + rows * (8 * spec.n_features + 512)


def check_fits(spec: SyntheticSpec) -> None:
    """Refuse, before generating anything, a dataset this machine cannot hold."""
    need, have = peak_bytes(spec), available_bytes()
    if need > have:
        raise LocalError(
            f"a synthetic dataset of {spec.train_eras + spec.validation_eras:,} eras x "
            f"{spec.rows_per_era:,} rows x {spec.n_features:,} features would need about "
            f"{gib(need)} of memory but {gib(have)} is available; choose fewer eras, rows "
            "per era or features."
        )


def write_synthetic(spec: SyntheticSpec, out_dir: Path) -> list[Path]:
    """Write every file of :func:`generate` into ``out_dir``, once :func:`check_fits` passed.

    Every file is written whole beside its place first, so a failure or Ctrl-C meanwhile
    leaves the dataset that was there whole; the files then replace theirs with Ctrl-C
    deferred, between :data:`WRITING` and :data:`MARKER` (only a crash in those renames
    leaves a mix, and :data:`WRITING` says so)."""
    check_fits(spec)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with contextlib.ExitStack() as twins:  # each removed if this does not get to the end
        for name, content in generate(spec).items():
            dest = out_dir / name
            tmp = twins.enter_context(atomic_path(dest))
            if isinstance(content, pd.DataFrame):
                content.to_parquet(tmp, index=True)
            else:
                tmp.write_text(json_text(content), encoding="utf-8")
            written.append(dest)
        with deferred_interrupt():
            (out_dir / MARKER).unlink(missing_ok=True)
            write_json_atomic(out_dir / WRITING, spec_marker(spec))
            twins.close()  # each twin replaces its file
            # Written last: its presence means every file above is complete.
            write_json_atomic(out_dir / MARKER, spec_marker(spec))
            (out_dir / WRITING).unlink()
    return written


def check_finished(folder: Path) -> None:
    """Refuse a folder whose synthetic dataset was not written to the end (its files may
    mix two datasets)."""
    if (folder / WRITING).exists():
        raise DataError(
            f"the synthetic dataset in {folder} was not written to the end (interrupted?): "
            f"run 'numerpilot demo-data {folder}' again."
        )
