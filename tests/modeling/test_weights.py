"""Ensemble weights fitted on holdout per-era scores."""

from __future__ import annotations

import numpy as np
import pytest

from numerpilot.kernel.eras import EraIndex
from numerpilot.kernel.ranks import rank_gauss_by_era
from numerpilot.modeling.weights import EraMoments, fit_weights

ERAS = np.repeat([f"{e:04d}" for e in range(40)], 200)


def _world(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=len(ERAS))
    y = 0.2 * signal + rng.normal(size=len(ERAS))
    return signal, y


def test_era_corr_equals_pearson_of_the_rank_gauss_average() -> None:
    rng = np.random.default_rng(3)
    members = rng.normal(size=(len(ERAS), 3))
    y = members @ [0.3, 0.1, 0.0] + rng.normal(size=len(ERAS))
    index = EraIndex.from_eras(ERAS)
    w = np.array([0.5, 0.3, 0.2])
    got = EraMoments.of(members, y, index).era_corr(w)
    combined = rank_gauss_by_era(members, index) @ w
    rows = [np.flatnonzero(np.equal(ERAS, e)) for e in np.unique(ERAS)]
    want = [np.corrcoef(combined[r], y[r])[0, 1] for r in rows]
    np.testing.assert_allclose(got, want, atol=1e-10)


def test_a_useless_member_gets_no_weight() -> None:
    signal, y = _world()
    rng = np.random.default_rng(1)
    good = signal + rng.normal(size=len(y))
    noise = rng.normal(size=len(y))
    fit = fit_weights(np.column_stack([good, noise]), y, EraIndex.from_eras(ERAS))
    assert fit.weights[1] == 0 and fit.weights[0] == pytest.approx(1.0)
    assert fit.ensemble_mean > fit.equal_mean


def test_equally_good_members_share_the_weight() -> None:
    signal, y = _world(2)
    rng = np.random.default_rng(5)
    members = np.column_stack([signal + rng.normal(size=len(y)) for _ in range(3)])
    fit = fit_weights(members, y, EraIndex.from_eras(ERAS))
    assert fit.weights.sum() == pytest.approx(1.0)
    assert np.all(np.abs(fit.weights - 1 / 3) < 0.1)


def test_a_weaker_member_gets_less_but_shrinkage_keeps_some() -> None:
    signal, y = _world(4)
    rng = np.random.default_rng(6)
    strong = signal + 0.5 * rng.normal(size=len(y))
    weak = signal + 3.0 * rng.normal(size=len(y))
    fit = fit_weights(np.column_stack([strong, weak]), y, EraIndex.from_eras(ERAS))
    assert fit.weights[0] > fit.weights[1] > 0


def test_the_main_target_is_kept_even_when_it_scores_nothing() -> None:
    signal, y = _world(7)
    rng = np.random.default_rng(8)
    members = np.column_stack([rng.normal(size=len(y)), signal + rng.normal(size=len(y))])
    dropped = fit_weights(members, y, EraIndex.from_eras(ERAS))
    kept = fit_weights(members, y, EraIndex.from_eras(ERAS), always=0)
    assert dropped.weights[0] == 0
    # Shrunk a tenth of the way toward the main target's model alone; the rest goes where
    # it helps.
    assert kept.weights[0] >= 0.1 and kept.weights[1] > 0.8


def test_eras_that_share_their_noise_count_as_less_evidence() -> None:
    """A member whose per-era score moves in blocks of eight neighbouring eras (a 20-day
    target over weekly eras, a persistent regime) has a plain t that counts every block
    eight times: it clears the bar as if the eras were independent, and not otherwise."""
    rng = np.random.default_rng(11)
    eras = np.repeat(np.arange(240), 100)
    signal = rng.normal(size=len(eras))
    y = 0.3 * signal + rng.normal(size=len(eras))
    blocks = np.repeat(rng.normal(0.0, 0.15, size=30), 8)
    lucky = blocks - blocks.mean() + 0.015  # a small positive mean, by luck of the blocks
    member = lucky[eras] * y + rng.normal(size=len(eras))
    index = EraIndex.from_eras(eras)
    fit = fit_weights(np.column_stack([signal, member]), y, index, always=0)
    scores = EraMoments.of(np.column_stack([signal, member]), y, index).member_corr()[:, 1]
    plain_t = scores.mean() / scores.std(ddof=1) * np.sqrt(len(scores))
    assert plain_t > 1.5
    assert fit.member_t[1] < 1.0
    assert fit.weights[1] == 0
