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


def test_a_targets_seeds_refit_on_one_training_set_with_the_same_models() -> None:
    """Building a training set bins every row (at Numerai's size it took longer than the
    trees): the seeds of a refit share the one built for the first seed, and get the very
    models fresh sets would give them; other rows or labels get a set of their own."""
    x, y = _data(4000)
    eras = np.repeat([f"{e:04d}" for e in range(40)], 100)
    built: list[lgb.Dataset] = []
    real = lgb.train

    def train(params: dict[str, object], train_set: lgb.Dataset, **kw: object) -> lgb.Booster:
        built.append(train_set)
        return real(params, train_set, **kw)  # type: ignore[arg-type]

    def fit(seed: int, target: np.ndarray, fresh: bool) -> str:
        if fresh:
            lgbm.release_training_set()
        cfg = LightGBMConfig(n_estimators=15, colsample_bytree=0.5, seed=seed, num_threads=1)
        model = lgbm.train_target(x, target, eras, target="t", feature_names=[f"f{i}" for i in
                                  range(x.shape[1])], cfg=cfg, split=None)  # fmt: skip
        return str(model.booster.model_to_string())

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lgb, "train", train)
        shared = [fit(seed, y, fresh=False) for seed in (0, 1, 2)]
        assert built[0] is built[1] is built[2]
        fresh = [fit(seed, y, fresh=True) for seed in (0, 1, 2)]
        assert len({id(s) for s in built[3:]}) == 3
        assert shared == fresh and len(set(shared)) == 3  # the same models; seeds differ
        other = y.copy()
        other[:50] = np.nan  # other rows: a set of their own
        fit(0, other, fresh=False)
        assert built[-1] is not built[5]
