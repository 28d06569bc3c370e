"""The code a model-upload pickle carries into Numerai's runtime, serialised by value.

cloudpickle pickles this module and :mod:`numerpilot.modeling.ensemble` by value (see
:mod:`numerpilot.deploy.build`); their functions reach numpy, scipy, pandas and lightgbm
only as module globals, which cloudpickle stores as names, so loading the pickle never
imports numerpilot. The ensemble arithmetic is the very code ``numerpilot predict`` runs.
Import nothing else from numerpilot here, and keep numpy objects out of the payload.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightgbm
import numpy as np
import pandas as pd

from numerpilot.modeling.ensemble import ensemble, neutralize_by_era, rank_by_era

_LIVE_ERA = "X"

Payload = dict[str, Any]


def _columns(frame: pd.DataFrame, names: list[str], payload: Payload) -> np.ndarray:
    """The named columns as a matrix, or a ValueError saying which are missing and why."""
    missing = [name for name in names if name not in frame.columns]
    if missing:
        shown = ", ".join(missing[:3]) + (
            f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        )
        raise ValueError(
            f"live data lacks {len(missing)} of the model's {len(names)} features ({shown}); "
            f"the models were trained on data version {payload['data_version']}. Retrain "
            "on the dataset version Numerai serves now and rebuild the pickle."
        )
    values = frame[names].to_numpy()
    if not np.issubdtype(values.dtype, np.integer):
        values = values.astype(np.float64)
    return values


def predict_frame(
    payload: Payload, boosters: dict[str, Any], live_features: pd.DataFrame
) -> pd.DataFrame:
    """The ensemble's predictions for a live frame: ``DataFrame(index=id, ["prediction"])``."""
    features: list[str] = payload["features"]
    model_x = _columns(live_features, features, payload).astype(np.float32)
    n = len(live_features)
    if "era" in live_features.columns:
        eras = live_features["era"].to_numpy().astype(str)
    else:
        eras = np.full(n, _LIVE_ERA)
    targets: list[str] = payload["targets"]
    for target in targets:
        if target not in boosters:
            boosters[target] = lightgbm.Booster(model_str=payload["models"][target])
    per_model = np.empty((n, len(targets)))
    for k, target in enumerate(targets):
        per_model[:, k] = boosters[target].predict(model_x)
    combined = ensemble(per_model, eras, payload["weights"])
    proportion = float(payload["neutralization_proportion"])
    if proportion > 0:
        neutral_x = _columns(live_features, payload["neutralizer_features"], payload)
        combined = neutralize_by_era(combined, neutral_x, eras, proportion).reshape(-1)
    final = rank_by_era(combined, eras)
    return pd.DataFrame({"prediction": final}, index=live_features.index)


def make_model(payload: Payload, with_benchmarks: bool) -> Callable[..., pd.DataFrame]:
    """The function Numerai calls: 1 argument, or 2 (live features, live benchmark models).

    Boosters are built from the model text on the first call and kept for later eras.
    """
    boosters: dict[str, Any] = {}

    if with_benchmarks:

        def predict_with_benchmarks(
            live_features: pd.DataFrame, live_benchmark_models: pd.DataFrame
        ) -> pd.DataFrame:
            """numerpilot ensemble (benchmark models accepted, not used)."""
            return predict_frame(payload, boosters, live_features)

        return predict_with_benchmarks

    def predict(live_features: pd.DataFrame) -> pd.DataFrame:
        """numerpilot ensemble: live features in, DataFrame(index=id, ["prediction"]) out."""
        return predict_frame(payload, boosters, live_features)

    return predict
