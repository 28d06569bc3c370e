"""The LightGBM training sets built from int8 matrices: same bins and rows as LightGBM's
own paths, so a model does not depend on how its Dataset was fed."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from numerpilot.config import LightGBMConfig
from numerpilot.modeling import lgbm
from numerpilot.modeling.lgbm import RowsSequence, bin_reference, lgbm_params


def _data(n: int = 3000, f: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 5, size=(n, f), dtype=np.int8)
    x[:, 0] = 2  # a constant feature
    x[rng.random(n) < 0.9, 1] = 0  # a mostly-zero feature
    y = (x[:, 2] + x[:, 3] * 0.5 + rng.normal(size=n)).astype(np.float64)
    return x, y


class _SequenceOf(lgb.Sequence):
    """The plain way: rows handed one by one (float64) to LightGBM's own sampling."""

    batch_size = 500

    def __init__(self, x: np.ndarray, rows: np.ndarray) -> None:
        self.x, self.rows = x, rows

    def __getitem__(self, idx: int | slice) -> np.ndarray:
        return np.asarray(self.x[self.rows[idx]], dtype=np.float64)

    def __len__(self) -> int:
        return len(self.rows)


@pytest.mark.parametrize("step", [1, 3])
def test_rows_sequence_batches_are_the_rows(step: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Consecutive rows (a slice) and scattered rows, through one reused buffer."""
    monkeypatch.setattr(lgbm, "_BATCH_BYTES", 1)  # the smallest batches
    x, _ = _data()
    rows = np.arange(5, len(x), step)
    seq = RowsSequence(x, rows)
    got = np.concatenate([seq[i : i + seq.batch_size].copy() for i in range(0, len(seq), 1024)])
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, x[rows])
    assert seq[7].dtype == np.float64 and np.array_equal(seq[7], x[rows[7]])


def test_bin_reference_gives_the_model_of_lightgbm_own_sampling() -> None:
    x, y = _data()
    names = [f"f{i}" for i in range(x.shape[1])]
    sample = np.sort(np.random.default_rng(1).choice(len(x), 700, replace=False))
    cfg = LightGBMConfig(n_estimators=20, num_threads=1, min_data_in_leaf=20)
    params = {**lgbm_params(cfg), "bin_construct_sample_cnt": len(sample)}  # as train_target
    fit = np.flatnonzero(np.arange(len(x)) % 5 != 0)

    def trained(bins: lgb.Dataset) -> lgb.Booster:
        train = lgb.Dataset(RowsSequence(x, fit), label=y[fit], feature_name=names,
                            params=params, reference=bins)  # fmt: skip
        return lgb.train(params, train, num_boost_round=20)

    theirs = lgb.Dataset(_SequenceOf(x, sample), label=y[sample], feature_name=names,
                         params=params)  # fmt: skip
    ours = bin_reference(x, sample, y, names, params)
    assert trained(ours).model_to_string() == trained(theirs).model_to_string()
