"""One test of Numerai's feature values (whole numbers 0..4) for the data numerpilot loads
and for the live frame a model-upload pickle is given: the same finding, in the same
words, each caller saying what to do; int8 data looked at without a copy."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from numerpilot.data.values import check_feature_column, check_feature_values
from numerpilot.errors import DataError
from numerpilot.kernel.values import not_whole_0_4
from numerpilot.model_upload.runtime import _check_values

NAMES = [f"feature_{j}" for j in range(5)]


@pytest.mark.parametrize(
    ("values", "said"),
    [
        (np.array([[0, 1, 9, 4, -2]] * 3, dtype=np.int8),
         "feature feature_2 holds 9 (and 1 more feature)"),
        (np.array([[0, 1, 2, 3, 200]], dtype=np.uint8), "feature feature_4 holds 200"),
        (np.array([[0.0, np.nan, 0.25, 1.0, 2.0]]), "feature feature_1 holds missing values (NaN) "
         "(and 1 more feature)"),
        (np.array([[0, 1, 2, 3, 4]], dtype=np.int64), None),
        (np.zeros((0, 5), dtype=np.int8), None),
        (np.array([[0, 1, 2, 3, 1_234_567]], dtype=np.int64), "feature feature_4 holds 1234567"),
        (np.array([[0, 1, 2, 3, 2.5e-7]]), "feature feature_4 holds 2.5e-07"),
    ],
    ids=["int8", "uint8", "float", "whole", "no-rows", "large-int", "tiny-float"],
)  # fmt: skip
def test_the_data_and_the_pickle_say_the_same(values: np.ndarray, said: str | None) -> None:
    assert not_whole_0_4(values, NAMES) == said
    if said is None:
        check_feature_values(Path("live.parquet"), values, NAMES)
        _check_values(values, NAMES, {"data_version": "v5.2"})
        return
    with pytest.raises(DataError) as loaded:
        check_feature_values(Path("live.parquet"), values, NAMES)
    assert str(loaded.value).startswith(f"live.parquet: {said}; numerpilot expects")
    with pytest.raises(ValueError, match="whole numbers 0..4") as given:
        _check_values(values, NAMES, {"data_version": "v5.2"})
    assert str(given.value).startswith(f"live {said}; the models (data version v5.2)")


def test_one_column_is_named_alike() -> None:
    with pytest.raises(DataError, match=r"^d.parquet: feature f holds 0.5; numerpilot expects"):
        check_feature_column(np.array([0.0, 4.0, 0.5]), "f", Path("d.parquet"))


def test_int8_data_is_not_copied() -> None:
    """Training data is GBs of int8: the test allocates a few column blocks, not a copy."""
    x = np.random.default_rng(0).integers(0, 5, size=(20_000, 1_000), dtype=np.int8)
    x[-1, -1] = 5
    tracemalloc.start()
    try:
        assert not_whole_0_4(x, [f"f{j}" for j in range(1_000)]) == "feature f999 holds 5"
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < x.nbytes / 4, peak
