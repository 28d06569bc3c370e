"""The per-era kernel: era index, ranks, neutralization and the ensemble's arithmetic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numerai_tools.scoring import neutralize as nt_neutralize
from numerai_tools.scoring import tie_kept_rank

from numerpilot.kernel.ensemble import combine, input_columns
from numerpilot.kernel.eras import EraIndex
from numerpilot.kernel.neutralize import neutralize_by_era
from numerpilot.kernel.ranks import rank_by_era, rank_gauss_by_era


@settings(max_examples=80, deadline=None)
@given(labels=st.lists(st.sampled_from(["0003", "0001", "0010", "0002"]), min_size=0, max_size=40))
def test_era_index_groups_every_row_once_in_order(labels: list[str]) -> None:
    eras = np.array(labels, dtype=str)
    index = EraIndex.from_eras(eras)
    assert list(index.labels) == sorted(set(labels))
    assert sorted(index.rows.tolist()) == list(range(len(labels)))
    for e, label in enumerate(index.labels):
        rows = index.era_rows(e)
        assert rows.tolist() == np.flatnonzero(eras == label).tolist()  # stable within era
    np.testing.assert_array_equal(index.labels[index.codes()], eras)
    codes = np.searchsorted(np.array(sorted(set(labels))), eras)
    same = EraIndex.from_codes(codes, np.array(sorted(set(labels))))
    np.testing.assert_array_equal(same.rows, index.rows)
    np.testing.assert_array_equal(same.starts, index.starts)


def test_era_index_select_keeps_eras_with_enough_valid_rows() -> None:
    eras = np.repeat(["a", "b", "c"], [5, 5, 2])
    valid = np.array([1, 1, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0], dtype=bool)
    sub, kept = EraIndex.from_eras(eras).select(valid, min_share=0.8, min_rows=2)
    assert kept.tolist() == [True, False, False]
    assert sub.labels.tolist() == ["a"] and sub.rows.tolist() == [0, 1, 2, 3]
    values = np.arange(12.0)
    np.testing.assert_array_equal(sub.put(sub.take(values))[:4], values[:4])
    assert np.isnan(sub.put(sub.take(values))[4:]).all()


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.integers(0, 4), min_size=2, max_size=40), n_eras=st.integers(1, 4))
def test_rank_by_era_matches_numerai_tools(values: list[int], n_eras: int) -> None:
    x = np.array(values, dtype=float)
    eras = np.array([f"{i % n_eras:02d}" for i in range(len(x))])
    ours = rank_by_era(x, eras)
    for era in np.unique(eras):
        m = eras == era
        ref = tie_kept_rank(pd.Series(x[m], index=pd.RangeIndex(m.sum())))
        np.testing.assert_array_equal(ours[m], ref.to_numpy())  # bitwise


@settings(max_examples=40, deadline=None)
@given(
    n_rows=st.integers(16, 60),
    n_features=st.integers(1, 6),
    proportion=st.sampled_from([0.25, 0.5, 1.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_neutralize_by_era_matches_numerai_tools(
    n_rows: int, n_features: int, proportion: float, seed: int
) -> None:
    """Per era, exactly numerai-tools' ``neutralize`` (int8 features, some constant ones).

    Every era has more rows than features + 1; with fewer, numerai-tools returns rounding
    noise for proportion 1 and numerpilot NaN (tested below)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_rows, 2))
    features = rng.integers(0, 5, size=(n_rows, n_features)).astype(np.int8)
    features[:, 0] = 2  # a feature missing in this era: all 2
    eras = np.repeat(["b", "a"], [n_rows // 2, n_rows - n_rows // 2])  # unsorted labels
    ours = neutralize_by_era(x, features, eras, proportion)
    for era in ("a", "b"):
        m = eras == era
        ref = nt_neutralize(pd.DataFrame(x[m]), pd.DataFrame(features[m]), proportion)
        np.testing.assert_allclose(ours[m], ref.to_numpy(), rtol=0, atol=1e-9)


def _payload(weights: list[float], proportion: float = 0.0) -> dict[str, object]:
    return {
        "features": ["f0", "f1", "f2"],
        "members": ["a", "b", "c"],
        "weights": weights,
        "models": {},
        "neutralization_proportion": proportion,
        "neutralizer_features": ["f1", "f3"] if proportion else [],
    }


def test_combine_is_the_ranked_weighted_mean_of_gaussianised_ranks() -> None:
    rng = np.random.default_rng(0)
    preds, eras = rng.normal(size=(50, 3)), np.repeat(["a", "b"], 25)
    index = EraIndex.from_eras(eras)
    g = rank_gauss_by_era(preds, index)
    assert np.allclose([g[eras == e].mean(axis=0) for e in "ab"], 0, atol=1e-12)
    payload = _payload([2.0, 1.0, 1.0])
    got = combine(payload, preds, np.zeros((50, 3)), index)
    np.testing.assert_array_equal(got, rank_by_era(g @ [0.5, 0.25, 0.25], index))
    assert got.min() > 0 and got.max() < 1


def test_combine_neutralizes_against_the_named_columns() -> None:
    rng = np.random.default_rng(1)
    n = 80
    payload = _payload([1.0, 1.0, 1.0], proportion=1.0)
    assert input_columns(payload) == ["f0", "f1", "f2", "f3"]
    X = rng.integers(0, 5, size=(n, 4)).astype(np.int8)
    preds = rng.normal(size=(n, 3)) + X[:, [1]]  # exposed to f1
    index = EraIndex.from_eras(np.repeat(["a", "b"], n // 2))
    got = combine(payload, preds, X, index)
    raw = combine(_payload([1.0, 1.0, 1.0]), preds, X, index)
    for rows in (index.era_rows(0), index.era_rows(1)):
        assert abs(np.corrcoef(got[rows], X[rows, 1])[0, 1]) < 0.15
        assert abs(np.corrcoef(raw[rows], X[rows, 1])[0, 1]) > 0.5


def test_exactly_fitted_era_is_nan_not_noise() -> None:
    rng = np.random.default_rng(3)
    x, features = rng.normal(size=(4, 1)), rng.integers(0, 5, size=(4, 4)).astype(np.int8)
    ref = nt_neutralize(pd.DataFrame(x), pd.DataFrame(features), 1.0).to_numpy()
    assert np.abs(ref).max() < 1e-12  # numerai-tools: rounding noise
    assert np.isnan(neutralize_by_era(x, features, np.zeros(4), 1.0)).all()


def test_neutralize_refuses_nan() -> None:
    with pytest.raises(ValueError, match="NaN"):
        neutralize_by_era(np.array([1.0, np.nan]), np.ones((2, 1)), np.array(["a", "a"]))
