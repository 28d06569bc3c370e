"""Era cross-validation splits: purge per target horizon, walk-forward and expanding."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numerpilot.errors import DataError
from numerpilot.modeling.cv import (
    era_folds,
    era_numbers,
    horizon_days,
    min_era_distance,
    purge_eras,
)


def labels(numbers: np.ndarray) -> np.ndarray:
    return np.array([f"{n:04d}" for n in numbers])


@pytest.mark.parametrize(
    ("target", "days", "purge"),
    [
        ("target", 20, 8),
        ("target_cyrus_v4_20", 20, 8),
        ("target_cyrus_v4_60", 60, 16),
        ("target_teager2b_20", 20, 8),
        ("target_ender_60", 60, 16),
    ],
)
def test_purge_follows_the_horizon_in_the_target_name(target: str, days: int, purge: int) -> None:
    assert horizon_days(target) == days
    assert purge_eras(target) == purge


@settings(max_examples=150, deadline=None)
@given(
    n_eras=st.integers(30, 400),
    step=st.integers(1, 4),
    horizon=st.sampled_from(["target_cyrus_v4_20", "target_ender_60", "target"]),
    n_folds=st.integers(1, 6),
    embargo=st.integers(0, 6),
    scheme=st.sampled_from(["expanding", "walk-forward"]),
    test_eras=st.integers(0, 12),
)
def test_no_training_era_within_the_purge_of_a_test_era(
    n_eras: int, step: int, horizon: str, n_folds: int, embargo: int, scheme: str, test_eras: int
) -> None:
    eras = labels(np.arange(1, n_eras + 1, step))
    purge = purge_eras(horizon)
    try:
        folds = era_folds(
            np.repeat(eras, 3), n_folds=n_folds, purge=purge, embargo=embargo, scheme=scheme,
            test_eras=test_eras,
        )  # fmt: skip
    except DataError as error:
        message = str(error)
        assert "too few" in message  # hypothesis draws both outcomes
        return
    assert len(folds) == n_folds
    tested = np.concatenate([f.holdout for f in folds])
    # Every test era is tested exactly once, and test blocks are the last eras, in order.
    assert len(tested) == len(set(tested)) and np.array_equal(tested, eras[-len(tested) :])
    for fold in folds:
        assert len(fold.fit) > 0
        assert min_era_distance(fold.fit, fold.holdout) > purge + embargo
        assert era_numbers(fold.fit).max() < era_numbers(fold.holdout).min()
    if scheme == "walk-forward":
        assert len({len(f.fit) for f in folds}) == 1  # a window of the same length
    else:
        assert all(f.fit[0] == eras[0] for f in folds)  # expanding from the first era


def test_purge_is_measured_in_weekly_eras_whatever_the_era_step() -> None:
    every_fourth = labels(np.arange(1, 201, 4))
    fold = era_folds(every_fourth, n_folds=1, purge=8, test_eras=5)[0]
    gap = int(era_numbers(fold.holdout)[0] - era_numbers(fold.fit)[-1])
    assert 8 < gap <= 12  # 8 weekly eras purged: 2 sampled eras, not 8


@pytest.mark.parametrize(
    "spell",
    [
        lambda n: f"era{n:04d}",
        lambda n: str(np.datetime64("2020-01-03") + np.timedelta64(7 * (n - 1), "D")),
        lambda n: str(np.datetime64("2020-01-03") + np.timedelta64(7 * (n - 1), "D")).replace(
            "-", ""
        ),
    ],
    ids=["numbered-text", "dates", "signals-dates"],
)
def test_purge_is_the_same_for_every_spelling_of_the_eras(spell: object) -> None:
    """Numbered text and weekly dates are on the same weekly time line as "0001" ..."""
    every_second = np.arange(1, 61, 2)
    numbered = era_folds(labels(every_second), n_folds=3, purge=8)
    spelled = era_folds(np.array([spell(n) for n in every_second]), n_folds=3, purge=8)  # type: ignore[operator]
    assert [len(f.fit) for f in spelled] == [len(f.fit) for f in numbered] == [11, 16, 21]


def test_a_walk_forward_window_longer_than_the_first_fold_is_refused() -> None:
    eras = labels(np.arange(1, 61))
    assert (
        len(era_folds(eras, n_folds=3, purge=8, scheme="walk-forward", train_eras=22)[0].fit) == 22
    )
    with pytest.raises(DataError, match=r"cv\.train_eras = 30, but the first fold has only 22"):
        era_folds(eras, n_folds=3, purge=8, scheme="walk-forward", train_eras=30)


def test_too_few_eras_say_what_to_change() -> None:
    with pytest.raises(DataError, match=r"too few for 4 folds.*lower cv\.folds"):
        era_folds(labels(np.arange(1, 20)), n_folds=4, purge=16, test_eras=4)
