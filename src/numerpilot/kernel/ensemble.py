"""The ensemble's prediction: member models, per-era rank-gauss average, neutralization, rank.

A *payload* is the plain data that describes a trained ensemble (str, float, list and dict
only): what ``models/`` holds and what a model-upload pickle carries. ``numerpilot
predict``, ``validate`` and the pickle all call :func:`predict_ensemble` on it, so they
agree by construction.

Payload keys: ``format``; ``backend`` ("lightgbm" or "xgboost"); ``features`` (model
inputs, in order); ``members`` (member names); ``weights`` (one per member); ``models``
(member -> model text); ``kinds`` (member -> "linear" for a linear member,
:mod:`numerpilot.kernel.linear`; the others are of ``backend``; absent: none);
``neutralization_proportion``; ``neutralizer_features``; ``data_version``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from numerpilot.kernel.eras import EraIndex
from numerpilot.kernel.linear import LINEAR, LinearModel
from numerpilot.kernel.neutralize import neutralize_by_era
from numerpilot.kernel.ranks import rank_by_era, rank_gauss_by_era
from numerpilot.kernel.trees import NumpyForest

Payload = dict[str, Any]
PAYLOAD_FORMAT = 2
#: Rows converted to float32 at a time when predicting from an int8 matrix.
BATCH_ROWS = 16_384


def input_columns(payload: Payload) -> list[str]:
    """Columns the ensemble reads, in the order ``X`` must hold them: the model features,
    then the neutralizer features that are not model features."""
    features = list(payload["features"])
    seen = set(features)
    return features + [f for f in payload["neutralizer_features"] if f not in seen]


def build_models(payload: Payload) -> dict[str, Any]:
    """The member models, built from their text: a LightGBM ``Booster`` per tree member,
    or an XGBoost ``Booster`` from its JSON (``backend`` "xgboost"); a
    :class:`~numerpilot.kernel.linear.LinearModel` per linear member."""
    kinds = payload.get("kinds", {})
    linear = {name: LinearModel(payload["models"][name]) for name in kinds if kinds[name] == LINEAR}
    trees = {**payload, "members": [m for m in payload["members"] if m not in linear]}
    return {**_build_trees(trees), **linear}


def _build_trees(payload: Payload) -> dict[str, Any]:
    backend = payload.get("backend", "lightgbm")
    texts = payload["models"]
    if backend == "xgboost":
        try:
            import xgboost
        except ImportError:  # Numerai's runtime: the same trees, evaluated with numpy
            return {name: NumpyForest(texts[name]) for name in payload["members"]}
        built = {}
        for name in payload["members"]:
            booster = xgboost.Booster()
            booster.load_model(bytearray(texts[name].encode("utf-8")))
            built[name] = booster
        return built
    if backend != "lightgbm":
        raise ValueError(f"unknown model backend {backend!r}")
    import lightgbm

    return {name: lightgbm.Booster(model_str=texts[name]) for name in payload["members"]}


def predict_members(
    payload: Payload,
    X: np.ndarray,
    models: dict[str, Any],
    on_batch: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Raw predictions (n, k) of the k members for X (n, c) in :func:`input_columns` order.

    Rows are converted to float32 in batches, so an int8 matrix is never copied whole;
    ``on_batch`` is called with the number of rows of each batch done.
    """
    n_features = len(payload["features"])
    xgb = payload.get("backend", "lightgbm") == "xgboost"
    out = np.empty((len(X), len(payload["members"])))
    for start in range(0, len(X), BATCH_ROWS):
        chunk = np.asarray(X[start : start + BATCH_ROWS, :n_features], dtype=np.float32)
        for k, name in enumerate(payload["members"]):
            model = models[name]
            out[start : start + len(chunk), k] = (
                model.inplace_predict(chunk)
                if xgb and not isinstance(model, LinearModel)
                else model.predict(chunk)
            )
        if on_batch is not None:
            on_batch(len(chunk))
    return out


def combine(payload: Payload, per_member: np.ndarray, X: np.ndarray, index: EraIndex) -> np.ndarray:
    """The ensemble (n,) in (0, 1) from member predictions (n, k).

    Per era: rank-gauss each member, weighted mean, neutralize against the neutralizer
    features by the payload's proportion (if any), then rank into (0, 1).
    """
    w = np.asarray(payload["weights"], dtype=np.float64)
    combined = rank_gauss_by_era(per_member, index) @ (w / w.sum())
    proportion = float(payload["neutralization_proportion"])
    if proportion > 0:
        position = {name: j for j, name in enumerate(input_columns(payload))}
        neutral_x = X[:, [position[f] for f in payload["neutralizer_features"]]]
        combined = neutralize_by_era(combined, neutral_x, index, proportion)[:, 0]
    return rank_by_era(combined, index)


def predict_ensemble(
    payload: Payload, X: np.ndarray, index: EraIndex, models: dict[str, Any] | None = None
) -> np.ndarray:
    """The ensemble's predictions (n,) in (0, 1) for X (n, c) in :func:`input_columns` order.

    ``models`` are the built member models (built from the payload when not given).
    """
    built = models if models is not None else build_models(payload)
    return combine(payload, predict_members(payload, X, built), X, index)
