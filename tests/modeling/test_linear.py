"""Linear members: ridge from moments, penalty chosen on held-out eras, predicted by the kernel."""

from __future__ import annotations

import numpy as np
import pytest

from numerpilot.kernel.ensemble import build_models, predict_members
from numerpilot.kernel.linear import LinearModel, linear_text
from numerpilot.modeling.cv import purged_era_folds
from numerpilot.modeling.linear import PENALTIES, fit_linear, gauss_targets
from numerpilot.modeling.members import every_era


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
    np.testing.assert_allclose(out[:, 0], x @ beta + 0.5, rtol=1e-12)
