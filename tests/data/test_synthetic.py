from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.conftest import SMALL_SPEC

from numerpilot.data import layout
from numerpilot.data.synthetic import SyntheticSpec, bin_target, generate
from numerpilot.data.synthetic_io import check_finished, is_current, write_synthetic


@pytest.fixture(scope="module")
def files(synthetic_dir: Path) -> dict[str, pd.DataFrame]:
    return {
        name: pd.read_parquet(synthetic_dir / name)
        for name in (layout.TRAIN, layout.VALIDATION, layout.LIVE, layout.META_MODEL,
                     layout.VALIDATION_BENCHMARKS, layout.LIVE_BENCHMARKS)
    }  # fmt: skip


@pytest.fixture(scope="module")
def meta(synthetic_dir: Path) -> dict[str, object]:
    return dict(json.loads((synthetic_dir / layout.FEATURES_JSON).read_text()))


def _features(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith("feature_")]


def test_layout_and_dtypes(files: dict[str, pd.DataFrame]) -> None:
    train = files[layout.TRAIN]
    assert train.index.name == "id" and pd.api.types.is_string_dtype(train.index)
    assert train.index.is_unique
    assert list(train.columns[:2]) == ["era", "data_type"]
    assert len(_features(train)) == SMALL_SPEC.n_features
    assert all(train[c].dtype == np.int8 for c in _features(train))
    assert train["target"].dtype == np.float32
    assert train["era"].iloc[0] == "0001" and train["era"].str.fullmatch(r"\d{4}").all()
    assert set(files[layout.VALIDATION]["data_type"]) == {"validation"}
    assert files[layout.TRAIN].era.max() < files[layout.VALIDATION].era.min()


def test_ids_unique_across_files(files: dict[str, pd.DataFrame]) -> None:
    ids = pd.Index([]).append(
        [files[n].index for n in (layout.TRAIN, layout.VALIDATION, layout.LIVE)]
    )
    assert ids.is_unique


def test_features_are_per_era_quintiles(files: dict[str, pd.DataFrame]) -> None:
    train = files[layout.TRAIN]
    feats = _features(train)
    shares = train.groupby("era")[feats[0]].value_counts(normalize=True).unstack()
    assert np.allclose(shares.to_numpy(), 0.2, atol=0.02)
    assert train[feats].min().min() == 0 and train[feats].max().max() == 4


def test_some_feature_is_missing_as_all_twos_in_some_eras(files: dict[str, pd.DataFrame]) -> None:
    train = files[layout.TRAIN]
    by_era = train.groupby("era")[_features(train)].nunique()
    constant = by_era == 1
    assert constant.to_numpy().any()
    era, feature = constant.stack().loc[lambda s: s].index[0]
    assert (train.loc[train.era == era, feature] == 2).all()


def test_main_target_bins(files: dict[str, pd.DataFrame]) -> None:
    target = files[layout.TRAIN]["target"]
    assert not target.isna().any()
    shares = target.value_counts(normalize=True).sort_index()
    assert list(shares.index) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert np.allclose(shares.to_numpy(), [0.05, 0.2, 0.5, 0.2, 0.05], atol=0.01)


def test_bin_target_exact_shares() -> None:
    y = bin_target(np.random.default_rng(0).normal(size=1000))
    assert np.bincount((y * 4).astype(int)).tolist() == [50, 200, 500, 200, 50]


def test_auxiliary_targets(files: dict[str, pd.DataFrame], meta: dict[str, object]) -> None:
    train, val = files[layout.TRAIN], files[layout.VALIDATION]
    targets = meta["targets"]
    assert isinstance(targets, list)
    assert "target" in targets and "target_teager2b_20" in targets and "target_xerxes_60" in targets
    assert (train["target"] == train["target_cyrusd_20"]).all()
    assert 0.002 < train["target_teager2b_20"].isna().mean() < 0.03
    newest = val[val.era == val.era.max()]
    assert newest["target_teager2b_60"].isna().all() and not newest["target"].isna().any()
    corr = train[["target", "target_teager2b_20"]].corr().iloc[0, 1]
    assert 0.2 < corr < 0.99


def test_feature_sets_and_groups(files: dict[str, pd.DataFrame], meta: dict[str, object]) -> None:
    sets = meta["feature_sets"]
    assert isinstance(sets, dict)
    assert set(sets) == {"small", "medium", "all", *layout.FEATURE_GROUPS}
    assert set(sets["small"]) < set(sets["medium"]) < set(sets["all"])
    assert sets["all"] == _features(files[layout.TRAIN])
    grouped = [f for g in layout.FEATURE_GROUPS for f in sets[g]]
    assert sorted(grouped) == sorted(sets["all"])


def test_live_meta_and_benchmarks(files: dict[str, pd.DataFrame]) -> None:
    live, val = files[layout.LIVE], files[layout.VALIDATION]
    assert len(live) == SMALL_SPEC.live_rows and set(live.era) == {layout.LIVE_ERA}
    assert live["target"].isna().all()
    mm = files[layout.META_MODEL]
    assert mm.index.isin(val.index).all()
    assert 0 < mm.era.nunique() < val.era.nunique()
    assert mm[layout.META_MODEL_COLUMN].between(0, 1).all()
    bench = files[layout.VALIDATION_BENCHMARKS]
    assert bench.index.equals(val.index)
    assert "v52_lgbm_teager2b20" in bench.columns
    assert files[layout.LIVE_BENCHMARKS].index.equals(live.index)


def test_deterministic_for_a_seed() -> None:
    spec = SyntheticSpec(train_eras=12, validation_eras=4, rows_per_era=60, n_features=30,
                         live_rows=12, seed=3)  # fmt: skip
    a, b = generate(spec), generate(spec)
    other = generate(SyntheticSpec(**{**spec.__dict__, "seed": 4}))
    pd.testing.assert_frame_equal(a[layout.TRAIN], b[layout.TRAIN])  # type: ignore[arg-type]
    assert not a[layout.TRAIN].equals(other[layout.TRAIN])


def test_signal_is_weak_but_real() -> None:
    """A linear fit on train scores a small positive per-era correlation on validation."""
    spec = SyntheticSpec(train_eras=150, validation_eras=40, rows_per_era=400, n_features=48,
                         live_rows=10, seed=11)  # fmt: skip
    data = generate(spec)
    train, val = data[layout.TRAIN], data[layout.VALIDATION]
    assert isinstance(train, pd.DataFrame) and isinstance(val, pd.DataFrame)
    feats = _features(train)
    x = train[feats].to_numpy(float) - 2
    beta = np.linalg.lstsq(x, train["target"].to_numpy(float) - 0.5, rcond=None)[0]
    pred = (val[feats].to_numpy(float) - 2) @ beta
    per_era = pd.DataFrame({"p": pred, "t": val["target"], "era": val["era"]}).groupby("era")
    corr = per_era.apply(lambda d: np.corrcoef(d.p, d.t)[0, 1]).mean()
    assert 0.005 < corr < 0.08


def test_invalid_spec_is_rejected() -> None:
    with pytest.raises(ValueError, match="n_features"):
        SyntheticSpec(train_eras=20, validation_eras=8, rows_per_era=60, n_features=5, live_rows=10)


def test_write_is_complete(tmp_path: Path) -> None:
    spec = SyntheticSpec(train_eras=10, validation_eras=4, rows_per_era=50, n_features=24,
                         live_rows=10, seed=1)  # fmt: skip
    written = write_synthetic(spec, tmp_path)
    assert {p.name for p in written} >= set(layout.REQUIRED_FILES)
    assert (tmp_path / ".synthetic.json").exists()
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("failure", [KeyboardInterrupt, OSError])  # Ctrl-C, a full disk
def test_a_rewrite_cut_short_leaves_the_previous_dataset_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: type[BaseException]
) -> None:
    """The marker went first and each file was replaced as it was written: a rewrite cut
    after its first file left a mix of two datasets, refused until written again."""
    old = SyntheticSpec(train_eras=10, validation_eras=4, rows_per_era=50, n_features=24,
                        live_rows=10, seed=1)  # fmt: skip
    write_synthetic(old, tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    real = pd.DataFrame.to_parquet
    calls = [0]

    def cut_at_the_second(frame: pd.DataFrame, *args: Any, **kwargs: Any) -> None:
        calls[0] += 1
        if calls[0] == 2:
            raise failure("cut short")
        real(frame, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", cut_at_the_second)
    with pytest.raises(failure):
        write_synthetic(SyntheticSpec(**{**old.__dict__, "n_features": 30}), tmp_path)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # no twin left
    check_finished(tmp_path)
    assert is_current(old, tmp_path)
    assert len(_features(pd.read_parquet(tmp_path / layout.TRAIN))) == 24
