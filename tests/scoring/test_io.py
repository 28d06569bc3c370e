"""Reading predictions and model columns for ``score``: parquet (pyarrow) and CSV agree,
ids are matched whatever their order."""

from __future__ import annotations

import gzip
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from numerpilot.errors import DataError, UsageError
from numerpilot.scoring.align import align, file_ids
from numerpilot.scoring.io import (
    read_data,
    read_model_column,
    read_predictions,
    read_table,
    resolve_features,
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
    with pytest.raises(DataError, match=r"d.parquet has 1 id that repeats \(e.g. n00000\)"):
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


def _data(n_eras: int = 4, rows: int = 10) -> pd.DataFrame:
    """A small data file: era, a numeric target, a text column, two int features."""
    n = n_eras * rows
    return pd.DataFrame(
        {
            "era": np.repeat([f"{e:04d}" for e in range(1, n_eras + 1)], rows),
            "data_type": "validation",
            "target": np.linspace(0, 1, n),
            "target_b": np.linspace(1, 0, n),
            "feature_a": np.arange(n) % 5,
            "feature_b": (np.arange(n) // 3) % 5,
        },
        index=pd.Index(IDS[:n], name="id"),
    )


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_features_all_without_features_json(tmp_path: Path, suffix: str) -> None:
    """``--features all`` beside no features.json: every feature_ column, CSV or parquet."""
    path = _write(tmp_path / f"d{suffix}", _data())
    names = resolve_features(path, "all")
    assert names == ["feature_a", "feature_b"]
    data = read_data(path, "target", names)
    np.testing.assert_array_equal(data.features, _data()[names].to_numpy(dtype=np.int8))
    with pytest.raises(UsageError, match="no features.json beside"):
        resolve_features(path, "small")


def test_features_all_of_a_csv_refuses_text_features(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.csv", _data().assign(feature_b="high"))
    with pytest.raises(DataError, match="feature feature_b is not numeric"):
        read_data(path, "target", resolve_features(path, "all"))


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_data_with_repeated_ids_is_refused(tmp_path: Path, suffix: str) -> None:
    frame = _data()
    path = _write(tmp_path / f"d{suffix}", pd.concat([frame, frame.iloc[3:5]]))
    with pytest.raises(DataError, match=rf"d{suffix} has 2 ids that repeat.*\(e.g. n00003\)"):
        read_data(path, "target", [])


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_model_file_with_repeated_ids_is_refused(tmp_path: Path, suffix: str) -> None:
    frame = _preds(np.arange(40))[["a"]]
    path = _write(tmp_path / f"m{suffix}", pd.concat([frame, frame.iloc[[7]]]))
    with pytest.raises(DataError, match=r"has 1 id that repeats \(e.g. n00007\)"):
        read_model_column(path, None, IDS, "meta model")


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_text_target_is_refused_with_the_target_columns(tmp_path: Path, suffix: str) -> None:
    path = _write(tmp_path / f"d{suffix}", _data())
    with pytest.raises(DataError) as error:
        read_data(path, "data_type", [])
    assert str(error.value) == (
        f"d{suffix}: column 'data_type' is not numeric, so it cannot be the target; choose "
        "a target column with --target COL (e.g. target, target_b)."
    )


def test_several_model_columns_name_the_option(tmp_path: Path) -> None:
    path = _write(tmp_path / "m.parquet", _preds(np.arange(40)))
    with pytest.raises(UsageError) as error:
        read_model_column(path, None, IDS, "meta model", option="--meta-model-col")
    assert str(error.value) == (
        "m.parquet: cannot tell which column is the meta model; name it with "
        "--meta-model-col COL (model columns: a, b)."
    )
    np.testing.assert_array_equal(
        read_model_column(path, "b", IDS, "meta model", option="--meta-model-col"),
        -np.arange(40.0),
    )
    only_text = _write(tmp_path / "t.parquet", _preds(np.arange(40))[["era"]])
    with pytest.raises(DataError, match="t.parquet has no numeric column to use as the meta"):
        read_model_column(only_text, None, IDS, "meta model")


def test_ids_of_unscored_rows_are_not_called_missing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """validate scores the data file's rows after the embargo eras: a model file's ids of
    the embargo rows are in the data file, only ids outside it are warned about."""
    data = _write(tmp_path / "d.parquet", _data())  # ids n00000 .. n00039
    every = file_ids(data)
    assert every.to_pylist() == list(IDS)
    model = _preds(np.arange(40))[["a"]]
    model = pd.concat([model, model.iloc[:3].rename(index=lambda i: "x" + i)])  # 3 foreign
    path = _write(tmp_path / "m.parquet", model)
    scored = IDS[20:]  # the first two eras skipped
    with caplog.at_level("WARNING", logger="numerpilot.scoring.align"):
        got = read_model_column(path, None, scored, "meta model", data_ids=lambda: every)
    np.testing.assert_array_equal(got, np.arange(20.0, 40.0))
    assert [r.getMessage() for r in caplog.records] == [
        "3 ids of the meta model are not in the data file and are ignored"
    ]
    caplog.clear()
    with caplog.at_level("WARNING", logger="numerpilot.scoring.align"):
        read_model_column(path, None, scored, "meta model")  # without: 20 + 3
    assert caplog.records[0].getMessage().startswith("23 ids of the meta model")
    caplog.clear()
    clean = _write(tmp_path / "c.parquet", _preds(np.arange(40))[["a"]])
    with caplog.at_level("WARNING", logger="numerpilot.scoring.align"):
        read_model_column(clean, None, scored, "meta model", data_ids=lambda: every)
    assert not caplog.records
    early = _write(tmp_path / "e.parquet", _preds(np.arange(40))[["a"]].iloc[:20])
    with caplog.at_level("WARNING", logger="numerpilot.scoring.align"):  # embargo rows only:
        got = read_model_column(early, None, scored, "meta model", data_ids=lambda: every)
    assert np.isnan(got).all() and not caplog.records  # nothing to score, no version mismatch
    with pytest.raises(DataError, match="no id of the meta model matches"):
        read_model_column(early, None, scored, "meta model")  # the data's ids unknown


# -- files made by hand: no rows, compressed, ids ------------------------------------------


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_files_without_rows_say_so(tmp_path: Path, suffix: str) -> None:
    """A header-only file is refused as having no rows, not with a later, wrong symptom."""
    preds = _write(tmp_path / f"p{suffix}", _preds(np.arange(40))[["era", "a"]].iloc[:0])
    data = _write(tmp_path / f"d{suffix}", _data().iloc[:0])
    for read in (read_predictions, read_table, lambda p: read_model_column(p, None, IDS, "m")):
        with pytest.raises(DataError) as error:
            read(preds)
        assert str(error.value) == f"p{suffix} has no rows; check that it was written completely."
    with pytest.raises(DataError, match=rf"^d{suffix} has no rows; check that it was written"):
        read_data(data, "target", [])
    (tmp_path / f"z{suffix}").write_bytes(b"")
    with pytest.raises(DataError, match=rf"^z{suffix} is empty \(0 bytes\)"):
        read_predictions(tmp_path / f"z{suffix}")


@pytest.mark.parametrize(("name", "kind"), [("p.csv", "gzip"), ("p.parquet", "gzip"),
                                            ("p.csv.gz", ".gz"), ("p.csv", "zip")])  # fmt: skip
def test_compressed_files_are_named_as_such(tmp_path: Path, name: str, kind: str) -> None:
    """A gzip (or zip) file is recognised by its first bytes, whatever its name says."""
    plain = _write(tmp_path / ("plain.parquet" if ".parquet" in name else "plain.csv"), _data())
    path = tmp_path / name
    if kind == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.write(plain, "plain.csv")
    else:
        path.write_bytes(gzip.compress(plain.read_bytes()))
    want = rf"^{re.escape(name)} is compressed \({re.escape(kind)}\); .* decompress it"
    with pytest.raises(DataError, match=want):
        read_predictions(path)
    with pytest.raises(DataError, match=want):
        read_data(path, "target", [])
    with pytest.raises(DataError, match=want):
        resolve_features(path, "all")


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_an_id_column_of_another_case_is_named(tmp_path: Path, suffix: str) -> None:
    frame = _preds(np.arange(40)).reset_index().rename(columns={"id": "ID"})
    path = tmp_path / f"p{suffix}"
    frame.to_parquet(path, index=False) if suffix == ".parquet" else frame.to_csv(path, index=False)
    with pytest.raises(DataError) as error:
        read_predictions(path)
    assert str(error.value) == (
        f"p{suffix} has 'ID' but no 'id' column; column names are case-sensitive: rename it "
        "to 'id'."
    )
    frame.rename(columns={"ID": "row"}).to_csv(tmp_path / "n.csv", index=False)
    with pytest.raises(DataError, match=r"no 'id' column or index \(columns: 'row', 'era', 'a'"):
        read_predictions(tmp_path / "n.csv")


def test_csv_ids_that_look_like_numbers_stay_text(tmp_path: Path) -> None:
    """Ids "000123" of a CSV match the data's "000123", not 123."""
    ids = np.array([f"{i:06d}" for i in range(40)], dtype=object)
    data = _data()
    data.index = pd.Index(ids, name="id")
    scoring = read_data(_write(tmp_path / "d.parquet", data), "target", [])
    preds = _preds(np.arange(40))
    preds.index = pd.Index(ids, name="id")
    got = align(read_predictions(_write(tmp_path / "p.csv", preds)), scoring.ids, "predictions")
    np.testing.assert_array_equal(got[:, 0], np.arange(40.0))
    assert read_data(_write(tmp_path / "d.csv", data), "target", []).ids.to_pylist() == list(ids)


def test_text_features_of_a_parquet_file_are_refused_in_plain_words(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.parquet", _data().assign(feature_b="high"))
    with pytest.raises(DataError) as error:
        read_data(path, "target", ["feature_a", "feature_b"])
    assert str(error.value) == (
        "d.parquet: feature feature_b is not numeric; numerpilot expects Numerai's features, "
        "whole numbers 0..4."
    )


def test_a_csv_row_number_column_is_not_a_prediction_column(tmp_path: Path) -> None:
    """``frame.reset_index().to_csv(path)`` writes pandas' row numbers under an empty
    header: that column is the file's index, not a model (it was scored as 'Unnamed: 0')."""
    path = tmp_path / "p.csv"
    _preds(np.arange(40)).reset_index().to_csv(path)
    assert path.read_text().startswith(",id,")
    preds = read_predictions(path)
    assert list(preds.columns) == ["a", "b"]


def test_an_unnamed_parquet_index_is_named_as_such(tmp_path: Path) -> None:
    """Ids in an index without a name: the error says to name it 'id' (it listed pandas'
    internal '__index_level_0__' as if it were a column of the file)."""
    frame = _preds(np.arange(40))
    frame.index.name = None
    frame.to_parquet(tmp_path / "p.parquet")
    with pytest.raises(DataError) as error:
        read_predictions(tmp_path / "p.parquet")
    message = str(error.value)
    assert "__index_level" not in message
    assert "an index without a name" in message and "name it 'id'" in message


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_features_and_targets_are_no_model_columns(tmp_path: Path, suffix: str) -> None:
    """A data file given as the meta model or the benchmark is named as such; features and
    targets were offered as its model columns. Beside a model column they are not chosen."""
    data = _write(tmp_path / f"d{suffix}", _data())
    for what, option, advice in [
        ("meta model", "--meta-model-col", "meta_model.parquet"),
        ("benchmark", "--benchmark-col", "validation_benchmark_models.parquet"),
    ]:
        with pytest.raises(DataError) as error:
            read_model_column(data, None, IDS, what, option=option)
        assert str(error.value) == (
            f"d{suffix} holds features and targets (target, target_b, feature_a … (1 more)) "
            f"but no model column: it is a data file, not the {what}. Give the {what} file "
            f"(such as {advice}), or name a column with {option} COL."
        )
    with_model = _write(tmp_path / f"m{suffix}", _data().assign(v52_lgbm_x=np.arange(40.0)))
    np.testing.assert_array_equal(
        read_model_column(with_model, None, IDS, "benchmark"), np.arange(40.0)
    )
    np.testing.assert_array_equal(  # named, a feature can still be a benchmark
        read_model_column(with_model, "feature_a", IDS, "benchmark"), np.arange(40.0) % 5
    )


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_predictions_leave_out_features_and_targets(tmp_path: Path, suffix: str) -> None:
    """Of a data file with a prediction column added, that column is the predictions; a
    data file alone is refused as one, not scored feature by feature."""
    data = _write(tmp_path / f"d{suffix}", _data())
    with pytest.raises(DataError, match=rf"d{suffix} holds features and targets \(target, "
                       "target_b, feature_a … \\(1 more\\)\\) but no prediction column: it is "
                       "a data file, not predictions"):  # fmt: skip
        read_predictions(data)
    both = _write(tmp_path / f"b{suffix}", _data().assign(prediction=np.arange(40.0)))
    preds = read_predictions(both)
    assert list(preds.columns) == ["prediction"]
    np.testing.assert_array_equal(preds["prediction"], np.arange(40.0))


def test_a_model_csv_column_with_a_text_cell_is_named(tmp_path: Path) -> None:
    """A meta model CSV column of numbers with one text cell reads as text: it was called a
    column that 'holds no numbers'; the error now names the cell."""
    frame = _preds(np.arange(40)).rename(columns={"a": "numerai_meta_model"})
    frame["numerai_meta_model"] = frame["numerai_meta_model"].astype(object)
    frame.iloc[5, frame.columns.get_loc("numerai_meta_model")] = "#DIV/0!"
    path = _write(tmp_path / "m.csv", frame)
    for column in (None, "numerai_meta_model"):
        with pytest.raises(DataError) as error:
            read_model_column(path, column, IDS, "meta model")
        assert str(error.value) == (
            "column 'numerai_meta_model' of m.csv holds numbers but also text ('#DIV/0!' for "
            "id n00005, 1 cell(s) in all), so it cannot be scored; fix those cells, or leave "
            "them empty."
        )
    text = _write(tmp_path / "t.csv", _preds(np.arange(40)).assign(a="x"))
    with pytest.raises(DataError, match=r"holds no numbers, so it is no model's predictions; "
                       r"choose one of: b\.$"):  # fmt: skip  # a CSV's era reads as numbers
        read_model_column(text, "a", IDS, "meta model")


def test_a_text_column_of_predictions_is_not_a_model_column(tmp_path: Path) -> None:
    """Text beside the predictions (SEDOLs, some all digits) is no column of numbers with a
    stray text cell: it is left out, not refused."""
    sedols = np.array(["0263494", "B0YBKJ7", "2046251", "B1YW440"] * 10, dtype=object)
    path = _write(tmp_path / "p.csv", _preds(np.arange(40)).assign(sedol=sedols))
    assert list(read_predictions(path).columns) == ["a", "b"]
    digits = np.array(["0263494", "2046251"] * 20, dtype=object)  # whole numbers: text too
    path = _write(tmp_path / "p.parquet", _preds(np.arange(40)).assign(sedol=digits))
    assert list(read_predictions(path).columns) == ["a", "b"]
