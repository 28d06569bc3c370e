"""XGBoost members from int8 feature matrices, the quantile DMatrix built in batches.

``xgboost.QuantileDMatrix`` fed by a :class:`xgboost.DataIter` reads the selected rows
one batch at a time (converted to float32 per batch) and keeps only its quantised copy,
so, as with LightGBM's Sequence, the float matrix of all rows never exists.
Install with ``pip install -e '.[xgboost]'`` in the checkout (or ``pip install xgboost``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from numerpilot.config import Config
from numerpilot.data.layout import without_target_advice
from numerpilot.errors import ConfigError, DataError
from numerpilot.modeling.cv import EraSplit
from numerpilot.modeling.members import Member
from numerpilot.progress import Scored

if TYPE_CHECKING:
    from numerpilot.modeling.backends import FittedMember

_BATCH_ROWS = 65_536


def import_xgboost() -> Any:
    try:
        import xgboost
    except ImportError:
        raise ConfigError(
            'model.backend = "xgboost" needs XGBoost, which this install lacks: run pip '
            "install -e '.[xgboost]' in numerpilot's checkout (or pip install xgboost), or set "
            'backend = "lightgbm".'
        ) from None
    return xgboost


def xgb_params(cfg: Config, seed: int) -> dict[str, Any]:
    """XGBoost parameters equivalent to the [lightgbm] section (depth, rate, columns).

    A ConfigError when XGBoost is not installed: ``train`` and ``cv`` ask for these
    before any data is read, so a missing XGBoost is told then, not after the loading."""
    from numerpilot.modeling.devices import xgboost_device
    from numerpilot.threads import auto_threads

    import_xgboost()
    lgb = cfg.lightgbm
    params: dict[str, Any] = {
        "objective": "reg:squarederror",
        "tree_method": "hist",
        "device": xgboost_device(cfg.model.device),
        "learning_rate": lgb.learning_rate,
        "max_depth": lgb.max_depth if lgb.max_depth > 0 else 0,
        "max_leaves": lgb.num_leaves,
        "colsample_bytree": lgb.colsample_bytree,
        "min_child_weight": float(lgb.min_data_in_leaf),
        "seed": seed,
        "nthread": lgb.num_threads or auto_threads(),
        "max_bin": 16,
        "disable_default_eval_metric": 1,
    }
    return params


def _progress(xgboost: Any, update: Scored) -> Any:
    class Advance(xgboost.callback.TrainingCallback):  # type: ignore[misc]
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            curve = evals_log.get("holdout", {}).get("era_corr")
            update(1, float(curve[-1]) if curve else None)
            return False

    return Advance()


def _smoothed_stopping(xgboost: Any, patience: int, rounds: int) -> Any:
    """The early stopping of LightGBM's members (:class:`~numerpilot.modeling.lgbm.SmoothedRule`:
    the holdout score smoothed over ``patience / 4`` rounds) as an XGBoost callback for a
    fit of at most ``rounds`` rounds; its ``rule.best_iteration`` is the round chosen."""
    from numerpilot.modeling.lgbm import SmoothedRule

    class SmoothedStop(xgboost.callback.TrainingCallback):  # type: ignore[misc]
        def __init__(self) -> None:
            self.rule = SmoothedRule(patience)
            super().__init__()

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            return self.rule.update(float(evals_log["holdout"]["era_corr"][-1]), rounds)

    return SmoothedStop()


def _batches(xgboost: Any) -> type:
    class RowBatches(xgboost.DataIter):  # type: ignore[misc]
        """Selected rows of an int8 matrix, served as float32 batches."""

        def __init__(self, features: np.ndarray, y: np.ndarray, rows: np.ndarray) -> None:
            self.features, self.y, self.rows, self.at = features, y, rows, 0
            super().__init__()

        def next(self, input_data: Callable[..., None]) -> bool:
            if self.at >= len(self.rows):
                return False
            part = self.rows[self.at : self.at + _BATCH_ROWS]
            input_data(data=np.asarray(self.features[part], dtype=np.float32), label=self.y[part])
            self.at += len(part)
            return True

        def reset(self) -> None:
            self.at = 0

    return RowBatches


def fit_xgboost(
    features: np.ndarray,
    y: np.ndarray,
    eras: np.ndarray,
    *,
    member: Member,
    feature_names: list[str],
    cfg: Config,
    split: EraSplit | None,
    early_stopping_rounds: int,
    on_progress: Scored = lambda steps, score: None,
    keep_all_rounds: bool = False,
) -> FittedMember:
    """Fit one XGBoost booster; early-stop on the mean per-era correlation of the holdout."""
    from numerpilot.modeling.backends import FittedMember
    from numerpilot.modeling.lgbm import mean_era_corr

    xgboost = import_xgboost()
    known = ~np.isnan(y)
    fit_rows = np.flatnonzero(known & (np.isin(eras, split.fit) if split is not None else True))
    if len(fit_rows) == 0:
        raise DataError(f"target '{member.target}' has no known values in the training eras; "
                        f"{without_target_advice(member.target)}.")  # fmt: skip
    batches = _batches(xgboost)
    params = xgb_params(cfg, member.seed)
    dtrain = xgboost.QuantileDMatrix(batches(features, y, fit_rows), max_bin=params["max_bin"])
    evals, callbacks = [], [_progress(xgboost, on_progress)]
    metric = None
    hold = np.flatnonzero(known & np.isin(eras, split.holdout if split is not None else []))
    if len(hold):
        dhold = xgboost.QuantileDMatrix(
            batches(features, y, hold), ref=dtrain, max_bin=params["max_bin"]
        )
        evals.append((dhold, "holdout"))
        codes = np.unique(eras[hold], return_inverse=True)[1].reshape(-1)

        def metric(pred: np.ndarray, data: Any) -> tuple[str, float]:
            label = np.asarray(data.get_label(), dtype=np.float64)
            return "era_corr", mean_era_corr(np.asarray(pred, dtype=np.float64), label, codes)

    stopping = None
    if evals and early_stopping_rounds:
        stopping = _smoothed_stopping(xgboost, early_stopping_rounds, cfg.lightgbm.n_estimators)
        callbacks.append(stopping)
    record: dict[str, Any] = {}
    booster = xgboost.train(
        params, dtrain, num_boost_round=cfg.lightgbm.n_estimators, evals=evals,
        custom_metric=metric, callbacks=callbacks, evals_result=record, verbose_eval=False,
    )  # fmt: skip
    rounds = booster.num_boosted_rounds()
    best = (stopping.rule.best_iteration or rounds) if stopping is not None else rounds
    curve = tuple(float(v) for v in record["holdout"]["era_corr"]) if evals else ()
    score = curve[best - 1] if evals else None
    raw = (booster if keep_all_rounds else booster[:best]).save_raw("json")
    text = bytes(raw).decode()
    return FittedMember(member.name, member.target, "xgboost", text, best, score, curve)


def predict_xgboost(text: str, features: np.ndarray, rows: np.ndarray, trees: int) -> np.ndarray:
    """Predictions (len(rows),) of the first ``trees`` rounds of a booster's JSON ``text``
    for rows of an int8 matrix (n, f), converted to float32 a batch at a time."""
    booster = load_xgboost(text)
    out = np.empty(len(rows))
    for start in range(0, len(rows), _BATCH_ROWS):
        batch = np.asarray(features[rows[start : start + _BATCH_ROWS]], dtype=np.float32)
        out[start : start + len(batch)] = booster.inplace_predict(batch, iteration_range=(0, trees))
    return out


def load_xgboost(text: str) -> Any:
    """A booster from its JSON text (what a bundle and a model-upload payload carry)."""
    xgboost = import_xgboost()
    booster = xgboost.Booster()
    booster.load_model(bytearray(text.encode()))
    return booster
