"""Peak-memory estimate of train and the era step chosen from a memory budget."""

from __future__ import annotations

import numpy as np
import pytest

from numerpilot.errors import DataError
from numerpilot.modeling.memory import (
    GIB,
    LINEAR_BATCH_BYTES,
    LINEAR_MATRICES,
    available_bytes,
    beyond_available,
    estimate_train_bytes,
    plan_memory,
)

#: Numerai v5-like: 574 eras of ~4,700 rows, 2,748 features.
SIZES = np.full(574, 4_700)
FEATURES = 2_748


def test_estimate_grows_with_rows_features_and_targets() -> None:
    base = estimate_train_bytes(100_000, 500, 1)
    assert estimate_train_bytes(200_000, 500, 1) > base
    assert estimate_train_bytes(100_000, 1_000, 1) > base
    assert estimate_train_bytes(100_000, 500, 4) > base
    # The int8 features and LightGBM's binned copy dominate: more than a byte a value.
    assert estimate_train_bytes(2_700_000, FEATURES, 4) > 1.3 * 2_700_000 * FEATURES


def test_the_linear_members_peak_within_their_share_of_the_estimate() -> None:
    import tracemalloc

    from numerpilot.modeling.cv import purged_era_folds
    from numerpilot.modeling.linear import fit_linear
    from numerpilot.modeling.members import every_era

    f, rng = 600, np.random.default_rng(0)
    era = np.repeat([f"{e:04d}" for e in range(40)], 100)
    x = rng.integers(0, 5, size=(len(era), f)).astype(np.int8)
    y = rng.normal(size=(len(era), 3))
    tracemalloc.start()
    try:  # three targets, three folds and the final fit, the products test included
        fit_linear(x, y, era, purged_era_folds(era, 3, 2), every_era(era), screen=y[:, 0])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    matrices = LINEAR_MATRICES * 8 * f * f
    assert 0.8 * matrices < peak <= matrices + LINEAR_BATCH_BYTES  # the constant is measured
    # Beyond ~4,000 features they, not LightGBM's bin sample, set the peak: f squared.
    wide = estimate_train_bytes(20_000, 8_000, 1) - estimate_train_bytes(20_000, 4_000, 1)
    assert wide > LINEAR_MATRICES * 8 * (8_000**2 - 4_000**2)


def test_every_era_when_it_fits() -> None:
    plan = plan_memory(SIZES, FEATURES, 4, None, 64 * GIB)
    assert plan.era_step == 1 and plan.rows == SIZES.sum()
    assert plan.estimate <= plan.budget


def test_the_smallest_step_that_fits() -> None:
    plan = plan_memory(SIZES, FEATURES, 4, None, 8 * GIB)
    assert plan.era_step > 1 and plan.estimate <= 8 * GIB
    smaller = plan.era_step - 1
    need = estimate_train_bytes(int(SIZES[::smaller].sum()), FEATURES, 4)
    assert need > 8 * GIB


def test_refuses_with_the_estimate_and_what_to_change() -> None:
    with pytest.raises(DataError) as error:
        plan_memory(SIZES, FEATURES, 4, None, 2 * GIB)
    message = str(error.value)
    assert "GiB" in message and "available" in message and "data.feature_set" in message


def test_a_configured_step_that_does_not_fit_names_one_that_does() -> None:
    with pytest.raises(DataError, match=r"set data.era_step = \d+"):
        plan_memory(SIZES, FEATURES, 4, 1, 8 * GIB)
    assert plan_memory(SIZES, FEATURES, 4, 2, 64 * GIB).era_step == 2


def test_available_memory_is_positive() -> None:
    assert available_bytes() > 0


def test_when_nothing_fits_it_says_to_free_memory() -> None:
    with pytest.raises(DataError, match="free memory, or raise train.memory_gb"):
        plan_memory(SIZES, FEATURES, 4, None, GIB // 2)


def test_a_stated_budget_is_named_and_raised_not_freed() -> None:
    """It said "0.00 GiB is available; free memory" for train.memory_gb = 0.001."""
    with pytest.raises(DataError) as error:
        plan_memory(SIZES, FEATURES, 4, None, GIB // 2, stated=True)
    message = str(error.value)
    assert "but train.memory_gb allows 0.50 GiB; raise train.memory_gb." in message
    assert "free memory" not in message and "available" not in message
    with pytest.raises(DataError, match=r"every era\), or raise train.memory_gb\.$"):
        plan_memory(SIZES, FEATURES, 4, None, 2 * GIB, stated=True)


def test_a_stated_budget_beyond_the_available_memory_is_trusted_with_a_warning() -> None:
    """train.memory_gb = 1e6 planned every era of Numerai's size on a 4 GiB machine, and
    the run was killed out of memory without a word of why."""
    plan = plan_memory(SIZES, FEATURES, 4, None, 10**6 * GIB, stated=True)
    assert plan.era_step == 1  # the user's word stands
    warning = beyond_available(plan, 4 * GIB)
    assert warning is not None
    assert warning.startswith(f"train would need about {plan.estimate / GIB:.1f} GiB, within ")
    assert "but only 4.00 GiB is available now: the run may be killed out of memory" in warning
    assert beyond_available(plan, plan.estimate) is None
