"""Shared fixtures: small synthetic datasets in Numerai's exact layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from numerpilot.data.synthetic import SyntheticSpec, write_synthetic

SMALL_SPEC = SyntheticSpec(
    train_eras=40, validation_eras=16, rows_per_era=100, n_features=48, live_rows=60, seed=7
)


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only-by-convention synthetic dataset shared by the whole test session."""
    out = tmp_path_factory.mktemp("synthetic")
    write_synthetic(SMALL_SPEC, out)
    return out
