"""Reading predictions and model columns for ``score``: parquet (pyarrow) and CSV agree,
ids are matched whatever their order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from numerpilot.errors import DataError, UsageError
from numerpilot.scoring.io import (
    align,
    read_data,
    read_model_column,
    read_predictions,
    read_table,
)

IDS = np.array([f"n{i:05d}" for i in range(40)], dtype=object)


def _preds(order: np.ndarray) -> pd.DataFrame:
    values = np.arange(40, dtype=np.float64)[order]
    return pd.DataFrame(
        {"era": "0001", "a": values, "b": -values}, index=pd.Index(IDS[order], name="id")
    )


def _write(path: Path, frame: pd.DataFrame) -> Path:
    if path.suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path)
    return path


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_predictions_in_any_order_align_on_the_data_ids(tmp_path: Path, suffix: str) -> None:
    order = np.random.default_rng(0).permutation(40)[:30]  # shuffled, 10 ids missing
    preds = read_predictions(_write(tmp_path / f"p{suffix}", _preds(order)))
    assert list(preds.columns) == ["a", "b"] and preds.dtypes.eq(np.float64).all()
    got = align(preds, IDS, "predictions")
    want = np.full((40, 2), np.nan)
    want[order] = np.column_stack([np.arange(40.0)[order], -np.arange(40.0)[order]])
    np.testing.assert_array_equal(got, want)
    same = read_predictions(_write(tmp_path / f"q{suffix}", _preds(np.arange(40))))
    np.testing.assert_array_equal(align(same, IDS, "p"), same.to_numpy())
    # Knowing the data's ids (same order) changes nothing but the work done.
    like = read_predictions(tmp_path / f"q{suffix}", like=pa.array(IDS, pa.large_string()))
    pd.testing.assert_frame_equal(like, same)


def test_ids_as_a_column_and_duplicates(tmp_path: Path) -> None:
    frame = _preds(np.arange(40)).reset_index()
    frame.to_parquet(tmp_path / "p.parquet", index=False)
    assert list(read_table(tmp_path / "p.parquet").index[:2]) == ["n00000", "n00001"]
    frame.loc[3, "id"] = "n00000"
    frame.to_parquet(tmp_path / "d.parquet", index=False)
    with pytest.raises(DataError, match="d.parquet has duplicate ids"):
        read_predictions(tmp_path / "d.parquet")
    frame.drop(columns="id").to_parquet(tmp_path / "n.parquet")
    with pytest.raises(DataError, match="no 'id' column or index"):
        read_predictions(tmp_path / "n.parquet")


def test_no_shared_id_is_an_error() -> None:
    with pytest.raises(DataError, match="no id of the meta model matches"):
        align(_preds(np.arange(40))["a"], np.array(["x", "y"], dtype=object), "meta model")


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_model_column_choice(tmp_path: Path, suffix: str) -> None:
    frame = _preds(np.arange(40)[::-1])
    one = _write(tmp_path / f"one{suffix}", frame[["era", "a"]])
    np.testing.assert_array_equal(read_model_column(one, None, IDS, "m"), np.arange(40.0))
    meta = _write(tmp_path / f"m{suffix}", frame.rename(columns={"b": "numerai_meta_model"}))
    np.testing.assert_array_equal(read_model_column(meta, None, IDS, "m"), -np.arange(40.0))
    two = _write(tmp_path / f"two{suffix}", frame)
    np.testing.assert_array_equal(read_model_column(two, "b", IDS, "m"), -np.arange(40.0))
    with pytest.raises(UsageError, match="cannot tell which column is the benchmark"):
        read_model_column(two, None, IDS, "benchmark")
    with pytest.raises(DataError, match="has no column 'c'"):
        read_model_column(two, "c", IDS, "benchmark")


def test_unreadable_parquet(tmp_path: Path) -> None:
    (tmp_path / "p.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataError, match="p.parquet could not be read"):
        read_predictions(tmp_path / "p.parquet")
    with pytest.raises(DataError, match="p.parquet could not be read"):
        read_model_column(tmp_path / "p.parquet", None, IDS, "meta model")


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_data_eras_keep_their_time_order_in_either_format(tmp_path: Path, suffix: str) -> None:
    """A CSV reads "0009" and "0010" as 9 and 10, which sort as text the wrong way round;
    the labels come back as Numerai writes them, in time order."""
    eras = np.repeat([f"{e:04d}" for e in range(1, 21)], 2)
    frame = pd.DataFrame(
        {"era": eras, "target": np.linspace(0, 1, 40), "feature_a": np.arange(40) % 5},
        index=pd.Index(IDS, name="id"),
    )
    data = read_data(_write(tmp_path / f"d{suffix}", frame), "target", ["feature_a"])
    np.testing.assert_array_equal(data.eras, eras)
    frame["feature_a"] = frame["feature_a"] / 4  # Numerai's older 0..1 features
    with pytest.raises(DataError, match="feature_a holds 0.25; numerpilot expects"):
        read_data(_write(tmp_path / f"f{suffix}", frame), "target", ["feature_a"])
