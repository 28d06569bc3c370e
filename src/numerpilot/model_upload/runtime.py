"""The code a model-upload pickle carries into Numerai's runtime, serialised by value.

cloudpickle pickles this module and the :mod:`numerpilot.kernel` package by value (see
:mod:`numerpilot.model_upload.build`); their functions reach numpy, scipy, pandas and
lightgbm only as module globals, which cloudpickle stores as names, so loading the pickle
never imports numerpilot. The ensemble is the kernel's :func:`predict_ensemble`, the very
function ``numerpilot predict`` runs. Import nothing else from numerpilot here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from numerpilot.kernel.ensemble import Payload, build_models, input_columns, predict_ensemble
from numerpilot.kernel.eras import EraIndex

_LIVE_ERA = "X"


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
    payload: Payload, models: dict[str, Any], live_features: pd.DataFrame
) -> pd.DataFrame:
    """The ensemble's predictions for a live frame: ``DataFrame(index=id, ["prediction"])``.

    ``models`` caches the built member models between calls (one call per era).
    """
    if len(live_features) == 0:  # else an error of numpy's about a reshape
        raise ValueError("the live frame has no rows: there is nothing to predict (Numerai's "
                         "runtime passes every live id).")  # fmt: skip
    X = _columns(live_features, input_columns(payload), payload)
    if "era" in live_features.columns:
        eras = live_features["era"].to_numpy().astype(str)
    else:
        eras = np.full(len(live_features), _LIVE_ERA)
    if not models:
        models.update(build_models(payload))
    final = predict_ensemble(payload, X, EraIndex.from_eras(eras), models)
    return pd.DataFrame({"prediction": final}, index=live_features.index)


def make_model(payload: Payload, with_benchmarks: bool) -> Callable[..., pd.DataFrame]:
    """The function Numerai calls: 1 argument, or 2 (live features, live benchmark models).

    Member models are built from their text on the first call and kept for later eras.
    """
    models: dict[str, Any] = {}

    if with_benchmarks:

        def predict_with_benchmarks(
            live_features: pd.DataFrame, live_benchmark_models: pd.DataFrame
        ) -> pd.DataFrame:
            """numerpilot ensemble (benchmark models accepted, not used)."""
            return predict_frame(payload, models, live_features)

        return predict_with_benchmarks

    def predict(live_features: pd.DataFrame) -> pd.DataFrame:
        """numerpilot ensemble: live features in, DataFrame(index=id, ["prediction"]) out."""
        return predict_frame(payload, models, live_features)

    return predict
