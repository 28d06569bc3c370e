from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from numerpilot.data import layout
from numerpilot.data.catalog import feature_set
from numerpilot.data.eras import era_labels
from numerpilot.data.load import load_era_data
from numerpilot.errors import DataError
from numerpilot.kernel.eras import EraIndex


def test_loads_selected_columns_as_int8(synthetic_dir: Path) -> None:
    feats = feature_set(synthetic_dir, "small")
    data = load_era_data(synthetic_dir / layout.TRAIN, feats, ["target", "target_teager2b_20"])
    frame = pd.read_parquet(synthetic_dir / layout.TRAIN)
    assert data.features.dtype == np.int8 and data.features.flags.c_contiguous
    assert data.feature_names == feats
    np.testing.assert_array_equal(data.features, frame[feats].to_numpy())
    np.testing.assert_array_equal(data.ids, frame.index.to_numpy())
    np.testing.assert_array_equal(data.eras, frame["era"].to_numpy())
    np.testing.assert_array_equal(data.target("target"), frame["target"].to_numpy())
    aux = data.target("target_teager2b_20")
    assert np.isnan(aux).sum() == frame["target_teager2b_20"].isna().sum()


def test_era_step_samples_every_nth_era(synthetic_dir: Path) -> None:
    feats = feature_set(synthetic_dir, "small")
    data = load_era_data(synthetic_dir / layout.TRAIN, feats, era_step=4)
    all_eras = np.unique(pd.read_parquet(synthetic_dir / layout.TRAIN, columns=["era"]).era)
    np.testing.assert_array_equal(data.unique_eras, all_eras[::4])


def test_row_groups_and_column_groups_give_the_same_rows(
    synthetic_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feats = feature_set(synthetic_dir, "medium")
    whole = load_era_data(synthetic_dir / layout.TRAIN, feats, ["target"], era_step=3)
    pq.write_table(pq.read_table(synthetic_dir / layout.TRAIN), tmp_path / "t.parquet",
                   row_group_size=97)  # fmt: skip
    monkeypatch.setattr("numerpilot.data.load._BATCH_BYTES", 5 * 97)  # 5 columns a batch
    monkeypatch.setattr("numerpilot.data.load._MIN_COLUMNS", 1)
    monkeypatch.setattr("numerpilot.data.load._TILE_BYTES", 1)  # tiles of 64 rows
    split = load_era_data(tmp_path / "t.parquet", feats, ["target"], era_step=3)
    np.testing.assert_array_equal(whole.features, split.features)
    np.testing.assert_array_equal(whole.targets, split.targets)
    np.testing.assert_array_equal(whole.ids, split.ids)


def test_missing_file_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="train.parquet is missing.*numerpilot download"):
        load_era_data(tmp_path / layout.TRAIN, ["feature_a"])


def test_unknown_feature_set_lists_the_choices(synthetic_dir: Path) -> None:
    with pytest.raises(DataError, match="'huge' is not in.*choose one of: agility.*medium"):
        feature_set(synthetic_dir, "huge")


def test_without_features_json_all_is_every_feature_column(
    synthetic_dir: Path, tmp_path: Path
) -> None:
    shutil.copy(synthetic_dir / layout.TRAIN, tmp_path / layout.TRAIN)
    names = pq.read_schema(tmp_path / layout.TRAIN).names
    assert feature_set(tmp_path, "all") == [c for c in names if c.startswith("feature_")]
    assert feature_set(tmp_path, "all") == feature_set(synthetic_dir, "all")
    with pytest.raises(DataError, match='features.json is missing.*feature_set = "all"'):
        feature_set(tmp_path, "medium")


def test_all_without_feature_columns_says_how_to_name_them(
    synthetic_dir: Path, tmp_path: Path
) -> None:
    """It said only 'has no feature_ columns', not why that matters or what to do."""
    frame = pd.read_parquet(synthetic_dir / layout.TRAIN)
    frame.rename(columns=lambda c: c.removeprefix("feature_")).to_parquet(tmp_path / layout.TRAIN)
    with pytest.raises(DataError, match="has no feature_ columns: without features.json, .* "
                       "Rename your feature columns so"):  # fmt: skip
        feature_set(tmp_path, "all")


def test_features_json_without_feature_sets(tmp_path: Path) -> None:
    (tmp_path / layout.FEATURES_JSON).write_text(json.dumps({"targets": []}))
    with pytest.raises(DataError, match="no 'feature_sets'"):
        feature_set(tmp_path, "small")


def test_missing_target_names_the_config_key(synthetic_dir: Path) -> None:
    with pytest.raises(DataError, match="lacks 1 targets \\(target_nope_20\\).*train.targets"):
        load_era_data(synthetic_dir / layout.TRAIN, [], ["target", "target_nope_20"])


def test_missing_target_names_the_targets_the_file_has(synthetic_dir: Path, tmp_path: Path) -> None:
    """A dataset of your own without features.json was told to choose targets from
    features.json's 'targets', which it does not have."""
    frame = pd.read_parquet(synthetic_dir / layout.TRAIN)
    frame[[c for c in frame.columns if not c.startswith("target_")]].to_parquet(
        tmp_path / layout.TRAIN
    )
    with pytest.raises(DataError, match=r"lacks 1 targets \(target_ender_20\)\. Set "
                       r"train.targets to target columns train.parquet has \(target;"):  # fmt: skip
        load_era_data(tmp_path / layout.TRAIN, [], ["target", "target_ender_20"])


def test_missing_main_target_says_it_cannot_be_configured_away(
    synthetic_dir: Path, tmp_path: Path
) -> None:
    """validate was told to set train.targets to the columns of a validation file that had
    none: 'target' is read whatever train.targets lists."""
    frame = pd.read_parquet(synthetic_dir / layout.VALIDATION)
    frame[[c for c in frame.columns if not c.startswith("target")]].to_parquet(
        tmp_path / layout.VALIDATION
    )
    with pytest.raises(DataError, match="validation.parquet has no 'target' column, Numerai's "
                       "main target: .* Name your main target column 'target'"):  # fmt: skip
        load_era_data(tmp_path / layout.VALIDATION, [], ["target"])


def test_targets_outside_0_to_1_are_named_in_a_warning(
    synthetic_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A target scaled otherwise (x10 - 3, raw returns) trained and validated without a
    word, but MMC scales with the target: the demo's MMC mean went from 0.033 to 0.082."""
    load_era_data(synthetic_dir / layout.VALIDATION, [], ["target", "target_ender_20"])
    assert "outside 0..1" not in caplog.text  # Numerai's (and the demo's) targets
    frame = pd.read_parquet(synthetic_dir / layout.VALIDATION)
    frame.assign(target=frame["target"] * 10 - 3).to_parquet(tmp_path / layout.VALIDATION)
    load_era_data(tmp_path / layout.VALIDATION, [], ["target", "target_ender_20"])
    assert "validation.parquet: targets outside 0..1: target (e.g. -3). Numerai's" in caplog.text
    assert "target_ender_20" not in caplog.text


def test_missing_features_are_counted_and_named(synthetic_dir: Path) -> None:
    feats = [*feature_set(synthetic_dir, "small"), "feature_x1", "feature_x2", "feature_x3", "f4"]
    with pytest.raises(DataError, match="lacks 4 model features \\(feature_x1, .* and 1 more\\)"):
        load_era_data(synthetic_dir / layout.LIVE, feats)


def test_corrupt_parquet(tmp_path: Path) -> None:
    (tmp_path / layout.TRAIN).write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="not a readable parquet file"):
        load_era_data(tmp_path / layout.TRAIN, [])


def test_null_features_and_out_of_range_values(synthetic_dir: Path, tmp_path: Path) -> None:
    feats = feature_set(synthetic_dir, "small")
    frame = pd.read_parquet(synthetic_dir / layout.LIVE)
    broken = frame.astype({feats[0]: "float32"})
    broken.iloc[0, broken.columns.get_loc(feats[0])] = np.nan
    broken.to_parquet(tmp_path / layout.LIVE)
    with pytest.raises(DataError, match=f"feature {feats[0]} has missing values"):
        load_era_data(tmp_path / layout.LIVE, feats)
    frame[feats[1]] = np.int8(7)
    frame.to_parquet(tmp_path / layout.LIVE)
    with pytest.raises(DataError, match=f"live.parquet: feature {feats[1]} holds 7;"):
        load_era_data(tmp_path / layout.LIVE, feats)


def test_an_int8_feature_outside_0_to_4_is_named_with_its_value(
    synthetic_dir: Path, tmp_path: Path
) -> None:
    """The refusal said only 'feature values outside 0..4': which of 2748 columns, and
    what value, was left to the user to find."""
    feats = feature_set(synthetic_dir, "small")
    frame = pd.read_parquet(synthetic_dir / layout.LIVE)
    frame.iloc[5, frame.columns.get_loc(feats[2])] = np.int8(-1)
    frame.iloc[9, frame.columns.get_loc(feats[4])] = np.int8(9)
    frame.to_parquet(tmp_path / layout.LIVE)
    with pytest.raises(DataError, match=rf"feature {feats[2]} holds -1 \(and 1 more feature\)"):
        load_era_data(tmp_path / layout.LIVE, feats)
    frame[feats[2]] = np.int8(2)
    frame.to_parquet(tmp_path / layout.LIVE)
    with pytest.raises(DataError, match=rf"feature {feats[4]} holds 9; .* whole numbers 0..4"):
        load_era_data(tmp_path / layout.LIVE, feats)
    frame[feats[4]] = frame[feats[4]].astype("uint8")
    frame.iloc[9, frame.columns.get_loc(feats[4])] = 200  # as int8: -56
    frame.to_parquet(tmp_path / layout.LIVE)
    with pytest.raises(DataError, match=rf"feature {feats[4]} holds 200;"):
        load_era_data(tmp_path / layout.LIVE, feats)


def test_wider_features_load_when_whole_0_to_4_and_are_refused_otherwise(
    synthetic_dir: Path, tmp_path: Path
) -> None:
    """The copy into int8 would change them without a word: 0.25 (Numerai's older 0..1
    features) to 0, a NaN stored as a float (not a null) to any byte, an int32 260 to 4."""
    feats = feature_set(synthetic_dir, "small")
    frame = pd.read_parquet(synthetic_dir / layout.LIVE)
    expected = load_era_data(synthetic_dir / layout.LIVE, feats).features
    frame.astype(dict.fromkeys(feats, "float32")).to_parquet(tmp_path / layout.LIVE)
    np.testing.assert_array_equal(load_era_data(tmp_path / layout.LIVE, feats).features, expected)
    quarters = frame.astype(dict.fromkeys(feats, "float32"))
    quarters[feats] /= 4
    quarters.to_parquet(tmp_path / layout.LIVE)
    with pytest.raises(
        DataError, match=f"feature {feats[0]} holds 0.(25|5|75); numerpilot expects"
    ):
        load_era_data(tmp_path / layout.LIVE, feats)
    floats = frame[feats[1]].to_numpy(np.float64)
    floats[3] = np.nan
    table = pa.Table.from_pandas(frame).set_column(
        frame.columns.get_loc(feats[1]), feats[1], pa.array(floats, from_pandas=False)
    )
    pq.write_table(table, tmp_path / layout.LIVE)
    with pytest.raises(
        DataError, match=rf"feature {feats[1]} holds missing values \(NaN\); numerpilot expects"
    ):
        load_era_data(tmp_path / layout.LIVE, feats)
    wide = frame.astype(dict.fromkeys(feats, "int32"))
    wide.iloc[5, wide.columns.get_loc(feats[2])] = 260  # as int8: 4
    wide.to_parquet(tmp_path / layout.LIVE)
    with pytest.raises(DataError, match=f"feature {feats[2]} holds 260; numerpilot expects"):
        load_era_data(tmp_path / layout.LIVE, feats)


@pytest.mark.parametrize("kind", [int, float])
def test_eras_stored_as_numbers_sort_in_time_order(
    synthetic_dir: Path, tmp_path: Path, kind: type
) -> None:
    """An era column of integers (1, 2, ..., 10, ...) or of whole floats (1.0, 2.0, ...: a
    column with a gap, or a CSV's) must not sort as text ("10" < "9"): its labels are
    zero-padded as Numerai's are, so embargoes and folds follow time."""
    frame = pd.read_parquet(synthetic_dir / layout.TRAIN)
    numbers = frame["era"].astype(int).astype(kind)
    assert numbers.max() >= 10  # labels of 1 and 2 digits
    frame.assign(era=numbers).to_parquet(tmp_path / layout.TRAIN)
    data = load_era_data(tmp_path / layout.TRAIN, [])
    expected = load_era_data(synthetic_dir / layout.TRAIN, [])
    np.testing.assert_array_equal(data.eras, expected.eras)
    assert list(data.era_index.labels) == sorted(frame["era"].unique())
    every_10th = load_era_data(tmp_path / layout.TRAIN, [], era_step=10)
    assert list(every_10th.era_index.labels) == sorted(frame["era"].unique())[::10]


def test_eras_that_are_not_whole_numbers_are_refused(synthetic_dir: Path, tmp_path: Path) -> None:
    frame = pd.read_parquet(synthetic_dir / layout.TRAIN)
    numbers = frame["era"].astype(float)
    numbers.iloc[5] = 1.5
    frame.assign(era=numbers).to_parquet(tmp_path / layout.TRAIN)
    with pytest.raises(DataError, match=f"{layout.TRAIN}: the era column holds an era of 1.5"):
        load_era_data(tmp_path / layout.TRAIN, [])
    with pytest.raises(DataError, match="holds rows without an era"):  # a CSV's empty cell
        era_labels(np.array([1.0, np.nan]))


def test_numbered_text_eras_sort_in_time_order(synthetic_dir: Path, tmp_path: Path) -> None:
    """Eras written "era1" ... "era20" must not sort as text ("era10" < "era2"): the number
    after the common prefix is zero-padded, so the newest eras stay the last ones."""
    frame = pd.read_parquet(synthetic_dir / layout.TRAIN)
    numbers = frame["era"].astype(int)
    frame.assign(era="era" + numbers.astype(str)).to_parquet(tmp_path / layout.TRAIN)
    data = load_era_data(tmp_path / layout.TRAIN, [])
    labels = list(data.era_index.labels)
    assert labels == [f"era{n:04d}" for n in sorted(numbers.unique())]
    np.testing.assert_array_equal(
        data.eras, "era" + load_era_data(synthetic_dir / layout.TRAIN, []).eras
    )
    assert list(era_labels(np.array(["0001", "X"]))) == ["0001", "X"]


def test_spaces_around_era_labels_do_not_change_their_order(
    synthetic_dir: Path, tmp_path: Path
) -> None:
    """A padded export ("1 " ... "40 ") sorted as text: era 10 came before era 2, so the
    holdout held out the wrong eras; "0001 " was refused as a date written otherwise."""
    frame = pd.read_parquet(synthetic_dir / layout.TRAIN)
    numbers = frame["era"].astype(int)
    frame.assign(era=numbers.astype(str) + " ").to_parquet(tmp_path / layout.TRAIN)
    labels = list(load_era_data(tmp_path / layout.TRAIN, []).era_index.labels)
    assert labels == [f"{n:04d}" for n in sorted(numbers.unique())]
    assert list(era_labels(np.array(["0001 ", " 0002", "0001"]))) == ["0001", "0002", "0001"]


def test_a_category_of_text_is_named_text(synthetic_dir: Path, tmp_path: Path) -> None:
    """It was named by its arrow type: 'holds dictionary<values=string, indices=int8,
    ordered=0> values'."""
    feats = feature_set(synthetic_dir, "small")
    frame = pd.read_parquet(synthetic_dir / layout.LIVE)
    frame[feats[0]] = frame[feats[0]].astype(str).astype("category")
    frame.to_parquet(tmp_path / layout.LIVE)
    with pytest.raises(DataError, match=f"column {feats[0]} holds text values, not numbers"):
        load_era_data(tmp_path / layout.LIVE, feats)


def test_a_feature_named_twice_in_features_json(synthetic_dir: Path, tmp_path: Path) -> None:
    """It ended in a traceback (IndexError: index out of bounds) deep in the loader."""
    meta = json.loads((synthetic_dir / layout.FEATURES_JSON).read_text())
    small = meta["feature_sets"]["small"]
    meta["feature_sets"]["small"] = [*small, small[1], small[0]]
    (tmp_path / layout.FEATURES_JSON).write_text(json.dumps(meta))
    said = rf"features.json names {small[0]} more than once \(and 1 more\); name each feature"
    with pytest.raises(DataError, match=f"feature set 'small' in .*{said} once"):
        feature_set(tmp_path, "small")


def test_eras_written_two_ways_or_as_other_dates_are_refused() -> None:
    """Sorted as text they had no time order: the holdout and the embargo took the wrong
    eras, and eras that overlap train's targets were scored."""
    with pytest.raises(DataError, match=r"writes eras in several ways \('era5', '0025'"):
        era_labels(np.array(["era5", "0025"]))
    with pytest.raises(DataError, match="several ways"):
        era_labels(np.array(["x1", "y2"]))
    for dates in (["10/09/2020", "12/27/2019"], ["03 Jan 2020", "10 Jan 2020"]):
        with pytest.raises(DataError, match="dates such as .* write them as YYYY-MM-DD"):
            era_labels(np.array(dates))


def test_iso_dates_sort_in_time_order_however_they_are_padded() -> None:
    labels = era_labels(np.array(["2020-10-9", "2020-1-3", "2020-2-14", "2020-1-3"]))
    assert list(labels) == ["2020-10-09", "2020-01-03", "2020-02-14", "2020-01-03"]
    hourly = era_labels(np.array(["2024-01-01 13:00", "2024-01-01 9:00"]))
    assert list(hourly) == ["2024-01-01T13:00:00", "2024-01-01T09:00:00"]
    assert list(era_labels(np.array(["train", "test"]))) == ["train", "test"]


def test_no_rows_in_selected_eras(synthetic_dir: Path, tmp_path: Path) -> None:
    shutil.copy(synthetic_dir / layout.TRAIN, tmp_path / layout.TRAIN)
    with pytest.raises(DataError, match="no rows in the selected eras"):
        load_era_data(tmp_path / layout.TRAIN, [], eras=["9999"])


def _expected(frame: pd.DataFrame, eras: np.ndarray) -> pd.DataFrame:
    return frame[frame["era"].astype(str).isin(eras)]


def test_era_codes_index_the_same_rows_as_the_labels(synthetic_dir: Path) -> None:
    data = load_era_data(synthetic_dir / layout.TRAIN, [], ["target"], era_step=2)
    assert data.era_codes is not None and data.era_labels is not None
    np.testing.assert_array_equal(data.era_labels[data.era_codes], data.eras)
    assert list(data.era_labels) == sorted(set(data.eras))
    by_codes, by_labels = data.era_index, EraIndex.from_eras(data.eras)
    np.testing.assert_array_equal(by_codes.rows, by_labels.rows)
    np.testing.assert_array_equal(by_codes.starts, by_labels.starts)
    np.testing.assert_array_equal(by_codes.labels, by_labels.labels)


def test_rows_out_of_era_order_and_integer_eras(synthetic_dir: Path, tmp_path: Path) -> None:
    """Shuffled rows (many short runs) and an int era column give pandas' rows, the eras
    labelled as Numerai writes them ("0001") and so in time order."""
    feats = feature_set(synthetic_dir, "small")
    frame = pd.read_parquet(synthetic_dir / layout.TRAIN)
    frame = frame.sample(frac=1.0, random_state=0)
    frame["era"] = frame["era"].astype(int)
    pq.write_table(pa.Table.from_pandas(frame), tmp_path / "t.parquet", row_group_size=150)
    data = load_era_data(tmp_path / "t.parquet", feats, ["target"], era_step=3)
    want = frame[frame["era"].isin(np.unique(frame["era"])[::3])]  # every 3rd, in time order
    np.testing.assert_array_equal(data.features, want[feats].to_numpy())
    np.testing.assert_array_equal(data.ids, want.index.to_numpy())
    np.testing.assert_array_equal(data.eras, want["era"].map("{:04d}".format).to_numpy())
    np.testing.assert_array_equal(data.target("target"), want["target"].to_numpy())


def test_unselected_row_groups_are_not_read(synthetic_dir: Path, tmp_path: Path) -> None:
    """A damaged feature chunk in a row group without a selected era does not matter;
    once its era is selected, the damage is one clear DataError (not a traceback)."""
    feats = feature_set(synthetic_dir, "small")
    frame = pd.read_parquet(synthetic_dir / layout.TRAIN)
    path = tmp_path / layout.TRAIN
    pq.write_table(pa.Table.from_pandas(frame), path, row_group_size=200)
    first = pq.ParquetFile(path).metadata.row_group(0)
    chunk = next(first.column(i) for i in range(first.num_columns)
                 if first.column(i).path_in_schema == feats[1])  # fmt: skip
    with path.open("r+b") as fh:
        fh.seek(chunk.data_page_offset)
        fh.write(b"\xff" * 32)
    last_eras = list(np.unique(frame["era"])[-3:])
    data = load_era_data(path, feats, ["target"], eras=last_eras)
    np.testing.assert_array_equal(data.features, _expected(frame, last_eras)[feats].to_numpy())
    with pytest.raises(DataError, match="train.parquet is damaged.*download it again"):
        load_era_data(path, feats, ["target"])


def test_skip_first_eras_and_explicit_eras(synthetic_dir: Path) -> None:
    frame = pd.read_parquet(synthetic_dir / layout.VALIDATION, columns=["era"])
    eras = np.unique(frame["era"])
    data = load_era_data(synthetic_dir / layout.VALIDATION, [], skip_first_eras=2)
    np.testing.assert_array_equal(data.unique_eras, eras[2:])
    picked = load_era_data(synthetic_dir / layout.VALIDATION, [], eras=[eras[3], eras[1], "x"])
    np.testing.assert_array_equal(picked.unique_eras, [eras[1], eras[3]])
    assert len(picked) == int(frame["era"].isin([eras[1], eras[3]]).sum())


def test_without_an_id_column_ids_are_row_numbers(synthetic_dir: Path, tmp_path: Path) -> None:
    frame = pd.read_parquet(synthetic_dir / layout.TRAIN, columns=["era", "target"])
    frame.reset_index(drop=True).to_parquet(tmp_path / "t.parquet", index=False)
    data = load_era_data(tmp_path / "t.parquet", [], ["target"], era_step=2)
    rows = np.flatnonzero(frame["era"].isin(np.unique(frame["era"])[::2]).to_numpy())
    np.testing.assert_array_equal(data.ids, rows.astype(str))


def test_rows_without_an_era(synthetic_dir: Path, tmp_path: Path) -> None:
    frame = pd.read_parquet(synthetic_dir / layout.LIVE, columns=["era"]).astype(object)
    frame.iloc[0, 0] = None
    frame.to_parquet(tmp_path / layout.LIVE)
    with pytest.raises(DataError, match="1 rows without an era"):
        load_era_data(tmp_path / layout.LIVE, [])


def test_text_in_a_feature_or_target_column(synthetic_dir: Path, tmp_path: Path) -> None:
    feats = feature_set(synthetic_dir, "small")
    frame = pd.read_parquet(synthetic_dir / layout.LIVE)
    frame.astype({feats[2]: str}).to_parquet(tmp_path / layout.LIVE)
    with pytest.raises(DataError, match=f"column {feats[2]} holds text values, not numbers"):
        load_era_data(tmp_path / layout.LIVE, feats)
