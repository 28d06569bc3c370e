"""Linear members: ridge from moments, penalty chosen on held-out eras, predicted by the kernel."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import ttest_1samp
from statsmodels.regression.linear_model import OLS
from statsmodels.stats.sandwich_covariance import cov_hac

from numerpilot.kernel.ensemble import build_models, predict_members
from numerpilot.kernel.linear import LinearModel, linear_text
from numerpilot.modeling import linear
from numerpilot.modeling.cv import purged_era_folds
from numerpilot.modeling.linear import (
    PENALTIES,
    fit_linear,
    gauss_targets,
    screen_moments,
    significant_pairs,
    trace_pairs,
)
from numerpilot.modeling.members import every_era
from numerpilot.scoring.summary import MAX_LAG, era_inflation


def _world(
    seed: int = 0, eras: int = 30, rows: int = 120, f: int = 12
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """int8 features, a linear target and a noise target with NaN, eras, the true weights."""
    rng = np.random.default_rng(seed)
    era = np.repeat([f"{e:04d}" for e in range(eras)], rows)
    x = rng.integers(0, 5, size=(len(era), f)).astype(np.int8)
    beta = rng.normal(size=f)
    y = np.column_stack([(x - 2) @ beta + rng.normal(scale=3, size=len(era)),
                         rng.normal(size=len(era))])  # fmt: skip
    y[rng.random(len(era)) < 0.1, 1] = np.nan  # an auxiliary target with unknown rows
    return x, y, era, beta


def _ridge(x: np.ndarray, y: np.ndarray, penalty: float) -> tuple[np.ndarray, float]:
    """Ridge straight from the centred rows: (coef (f,), intercept)."""
    mx, my = x.mean(axis=0), y.mean()
    c = x - mx
    cov = c.T @ c / len(x)
    scale = np.mean(np.diag(cov))
    coef = np.linalg.solve(cov + penalty * scale * np.eye(x.shape[1]), c.T @ (y - my) / len(x))
    return coef, float(my - mx @ coef)


def test_held_out_predictions_come_from_a_model_that_never_saw_the_fold() -> None:
    x, y, era, beta = _world()
    folds = purged_era_folds(era, 3, 2)
    fits = fit_linear(x, y, era, folds, every_era(era))
    g = gauss_targets(y, era)
    main = fits[0]
    for fold in folds:  # the fold's predictions = a ridge fit on its fit eras alone
        fit_rows = np.isin(era, fold.fit)
        coef, b = _ridge(x[fit_rows].astype(float), g[fit_rows, 0], main.penalty)
        hold = np.isin(era, fold.holdout)
        np.testing.assert_allclose(main.preds[hold], x[hold] @ coef + b, rtol=1e-8, atol=1e-10)
    assert not np.isnan(main.preds).any()  # the folds cover every era
    # The final model is fit on every era; it finds the linear signal.
    model = LinearModel(main.model_text)
    coef, b = _ridge(x.astype(float), g[:, 0], main.penalty)
    np.testing.assert_allclose(model.coef, coef, rtol=1e-8, atol=1e-12)
    assert np.corrcoef(model.coef, beta)[0, 1] > 0.95 and main.score > 0.3
    assert main.penalty in PENALTIES
    # Pure noise (with unknown rows): no held-out skill.
    assert abs(fits[1].score) < 0.05


def test_the_penalty_is_the_best_held_out_one() -> None:
    x, y, era, _ = _world(seed=1, f=60, rows=40)  # more features than a fold supports well
    folds = purged_era_folds(era, 3, 2)
    scores = [fit_linear(x, y[:, :1], era, folds, every_era(era), (p,))[0].score
              for p in PENALTIES]  # fmt: skip
    chosen = fit_linear(x, y[:, :1], era, folds, every_era(era))[0]
    assert chosen.penalty == PENALTIES[int(np.argmax(scores))]
    assert chosen.score == pytest.approx(max(scores))


def test_the_kernel_predicts_a_linear_member_from_the_payload() -> None:
    x, _, _, beta = _world(seed=2, eras=2)
    text = linear_text(beta, 0.5)
    payload = {"backend": "lightgbm", "features": [f"f{i}" for i in range(len(beta))],
               "members": ["target.linear"], "models": {"target.linear": text},
               "kinds": {"target.linear": "linear"}}  # fmt: skip
    models = build_models(payload)
    out = predict_members(payload, x, models)
    np.testing.assert_allclose(out[:, 0], x @ beta + 0.5, rtol=0, atol=1e-12)  # 12 decimals


def _interaction_world(
    seed: int = 3, eras: int = 40, rows: int = 150, f: int = 10
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """int8 features, a target driven by a product (0, 1) and a square of feature 2 (no
    linear part: invisible to a plain ridge), and eras."""
    rng = np.random.default_rng(seed)
    era = np.repeat([f"{e:04d}" for e in range(eras)], rows)
    x = rng.integers(0, 5, size=(len(era), f)).astype(np.int8)
    z = x - 2.0
    y = z[:, 0] * z[:, 1] + 0.7 * (z[:, 2] ** 2 - 2) + rng.normal(scale=2, size=len(era))
    return x, y, era


def test_significant_pairs_find_products_and_squares_and_nothing_in_noise() -> None:
    x, y, era = _interaction_world()
    g = gauss_targets(y[:, None], era)[:, 0]
    center = x.mean(axis=0)
    rows = np.arange(len(era))
    s = screen_moments(x, g, center, rows, era)
    assert [tuple(p) for p in significant_pairs(s)] == [(0, 1), (2, 2)]
    # The statistic is Student's t over the eras of each era's sum of g times the product.
    u = x - center
    for i, j in [(0, 1), (2, 2), (3, 7)]:
        per_era = [float(g[era == e] @ (u[era == e, i] * u[era == e, j])) for e in np.unique(era)]
        assert s.eras == len(per_era)
        assert s.s[i, j] == pytest.approx(sum(per_era), rel=1e-5, abs=1e-3)  # float32 sums
        t = ttest_1samp(per_era, 0.0).statistic
        mean, sd = np.mean(per_era), np.sqrt(s.ss[i, j] / s.eras - (s.s[i, j] / s.eras) ** 2)
        assert mean / (sd * np.sqrt(s.eras / (s.eras - 1)) / np.sqrt(s.eras)) == pytest.approx(
            t, rel=1e-4, abs=1e-3
        )
    # A split's screen is the total less its excluded eras.
    first = np.flatnonzero(np.isin(era, np.unique(era)[:10]))
    rest = np.setdiff1d(rows, first)
    diff = s - screen_moments(x, g, center, first, era)
    direct = screen_moments(x, g, center, rest, era)
    assert diff.eras == direct.eras
    np.testing.assert_allclose(diff.s, direct.s, rtol=1e-5, atol=1e-2)
    np.testing.assert_allclose(diff.ss, direct.ss, rtol=1e-5, atol=1e-1)
    # Noise, or a purely linear target: no product clears the bar.
    rng = np.random.default_rng(0)
    for target in (rng.normal(size=len(era)), (x - 2.0) @ rng.normal(size=x.shape[1])):
        noise = gauss_targets((target + rng.normal(size=len(era)))[:, None], era)[:, 0]
        assert len(significant_pairs(screen_moments(x, noise, center, rows, era))) == 0


def test_squares_are_their_own_family_of_tests() -> None:
    """A square is one of f per-feature tests, a product one of f (f - 1) / 2: the same
    t admits a square (a U-shape) that it would not admit as a product."""
    f, n, t = 200, 100, 4.8  # bars at df 99: 4.24 over 200 squares, 5.38 over 19,900 pairs
    s = np.zeros((f, f))
    ss = np.full((f, f), float(n))  # per-era values of sd 1 (and mean 0) ...
    for i, j in [(3, 3), (4, 9)]:  # ... except these two, of mean t / sqrt(n)
        mean = t / np.sqrt(n)
        s[i, j], ss[i, j] = n * mean, (n - 1) + n * mean**2
    assert [tuple(p) for p in significant_pairs(linear.Screen(n, s, ss))] == [(3, 3)]
    s[4, 9], ss[4, 9] = n * 0.6, (n - 1) + n * 0.36  # t = 6: a product clears its bar
    assert [tuple(p) for p in significant_pairs(linear.Screen(n, s, ss))] == [(3, 3), (4, 9)]


@pytest.mark.parametrize("screen_rows", [200_000, 2_500])
def test_a_fold_screens_and_fits_on_its_own_eras_and_the_kernel_predicts_the_products(
    screen_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(linear, "SCREEN_ROWS", screen_rows)  # every row, or every 3rd
    x, y, era = _interaction_world(seed=4)
    step = -(-len(era) // screen_rows)
    folds = purged_era_folds(era, 3, 2)
    plain = fit_linear(x, y[:, None], era, folds, every_era(era))[0]
    fit = fit_linear(x, y[:, None], era, folds, every_era(era), screen=y)[0]
    assert plain.pairs == 0 and fit.pairs >= 2
    assert fit.score > plain.score + 0.1  # the interaction is the signal
    g = gauss_targets(y[:, None], era)[:, 0]
    center = x.mean(axis=0)
    sample = np.arange(0, len(era), step)
    inflation = screen_moments(x, g, center, sample, era, trace_pairs(x.shape[1])).inflation
    assert fit.inflation == inflation and 1.0 <= inflation < 1.3  # independent eras
    for fold in folds:  # each fold's products and ridge come from its fit eras alone
        rows = np.flatnonzero(np.isin(era, fold.fit))
        own = screen_moments(x, g, center, rows[rows % step == 0], era)
        pairs = significant_pairs(replace(own, inflation=inflation))
        u = x - center
        design = np.column_stack([x, *(u[:, i] * u[:, j] for i, j in pairs)]).astype(float)
        coef, b = _ridge(design[rows], g[rows], fit.penalty)
        hold = np.isin(era, fold.holdout)
        np.testing.assert_allclose(fit.preds[hold], design[hold] @ coef + b, rtol=1e-7, atol=1e-9)
    model = LinearModel(fit.model_text)
    assert {(0, 1), (2, 2)} <= {tuple(p) for p in model.pairs} and len(model.pairs) == fit.pairs
    u = x - center
    expected = x @ model.coef + model.intercept
    for (i, j), c in zip(model.pairs, model.pair_coef, strict=True):
        expected += c * u[:, i] * u[:, j]
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-10)


def test_model_texts_without_products_keep_the_first_format() -> None:
    beta = np.arange(3.0)
    assert '"numerpilot-linear-1"' in linear_text(beta, 0.0)
    text = linear_text(beta, 0.0, np.array([[0, 1]]), np.array([[2.0, 2.0]]), np.array([1.5]))
    assert '"numerpilot-linear-2"' in text
    x = np.array([[4, 0, 1], [2, 2, 2]], dtype=np.int8)
    np.testing.assert_allclose(LinearModel(text).predict(x), [2 + 1.5 * 2 * -2, 6.0])
    with pytest.raises(ValueError, match="format"):
        LinearModel('{"format": "other", "coef": [], "intercept": 0}')


def test_era_inflation_is_newey_wests_variance_of_the_mean_against_the_plain_one() -> None:
    rng = np.random.default_rng(5)
    shocks = rng.normal(size=(203, 3))
    series = shocks[:-3] + shocks[1:-2] + shocks[2:-1] + shocks[3:]  # 4 eras overlap
    ratios, weights = [], []
    for col in series.T:  # statsmodels, one series at a time
        fit = OLS(col, np.ones(len(col))).fit()
        hac = cov_hac(fit, nlags=MAX_LAG, use_correction=False)[0, 0]
        plain = np.mean((col - col.mean()) ** 2) / len(col)
        ratios.append(hac / plain)
        weights.append(plain)
    assert era_inflation(series[:, :1]) == pytest.approx(ratios[0], rel=1e-10)
    # Pooled over the series: their ratios weighted by their variances.
    assert era_inflation(series) == pytest.approx(np.average(ratios, weights=weights), rel=1e-10)
    assert 3.0 < era_inflation(series) < 4.0
    # Independent eras, or neighbours that disagree: the plain test (never laxer).
    assert era_inflation(rng.normal(size=(200, 3))) < 1.2
    assert era_inflation(np.array([[1.0], [-1.0]] * 50)) == 1.0
    assert era_inflation(np.ones((10, 2))) == 1.0


def _overlapping_world(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Numerai's dependence without any signal: the same stocks every era, features that
    persist, a target that sums four weekly shocks (20 days over weekly eras)."""
    rng = np.random.default_rng(seed)
    stocks, weeks, f = 200, 160, 30
    x = np.tile(rng.integers(0, 5, size=(stocks, f)).astype(np.int8), (weeks, 1))
    shocks = rng.normal(size=(weeks + 3, stocks))
    y = (shocks[:-3] + shocks[1:-2] + shocks[2:-1] + shocks[3:]).reshape(-1)
    return x, y, np.repeat([f"{e:04d}" for e in range(weeks)], stocks)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_overlapping_targets_do_not_make_noise_significant(seed: int) -> None:
    x, y, era = _overlapping_world(seed)
    g = gauss_targets(y[:, None], era)[:, 0]
    rows = np.arange(len(era))
    s = screen_moments(x, g, x.mean(axis=0), rows, era, trace_pairs(x.shape[1]))
    assert 2.5 < s.inflation < 4.5  # about 1 + 2 (0.75 + 0.5 + 0.25), Bartlett-weighted
    assert len(significant_pairs(s)) == 0
    # Counting each week's evidence four times, the plain t finds products in noise.
    assert len(significant_pairs(replace(s, inflation=1.0))) >= 5


def test_equal_rows_get_equal_predictions_wherever_they_sit() -> None:
    """BLAS summed a row's products in an order that depends on its place: equal rows came
    out 1e-17 apart, and the per-era ranks then spread ten equal live rows from 0.1 to 0.6
    (a model-upload pickle and predict alike)."""
    from numerpilot.kernel.linear import LinearModel, linear_text

    rng = np.random.default_rng(0)
    for features in (40, 120, 400):
        for rows in (11, 57, 1_003, 5_003):
            model = LinearModel(linear_text(rng.normal(size=features) * 0.01, 0.1))
            X = rng.integers(0, 5, size=(rows, features)).astype(np.int8)
            X[rows - 10 :] = X[0]
            predictions = model.predict(X)
            assert np.unique(predictions[[0, *range(rows - 10, rows)]]).size == 1
