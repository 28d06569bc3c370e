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
from numerpilot.kernel.values import HIGH, LOW, not_whole_0_4

_LIVE_ERA = "X"
_ID = "id"


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
    wanted = set(names)
    twice = sorted({str(c) for c in frame.columns[frame.columns.duplicated()] if c in wanted})
    if twice:  # frame[names] would hold both copies, and every later feature would shift
        raise ValueError(
            f"live data has feature {twice[0]} more than once"
            + (f" (and {len(twice) - 1} more features)" if len(twice) > 1 else "")
            + "; give each column once, as Numerai's live.parquet has them."
        )
    values = _numbers(frame[names])
    _check_values(values, names, payload)
    return values


def _numbers(block: pd.DataFrame) -> np.ndarray:
    """The block as an integer matrix when every column is of a numpy integer type (no
    copy into floats), else as float64 with missing values (pandas' NA too) as NaN."""
    if all(isinstance(dtype, np.dtype) and dtype.kind in "iu" for dtype in block.dtypes):
        return block.to_numpy()
    try:
        return block.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as error:
        raise ValueError(f"live features are not numbers ({error}); Numerai's live.parquet "
                         f"holds whole numbers {LOW}..{HIGH} (int8).") from None  # fmt: skip


def _check_values(values: np.ndarray, names: list[str], payload: Payload) -> None:
    """A ValueError unless every value is a whole number 0..4, as in Numerai's live.parquet
    of every data version the models can be trained on: anything else (0.5, NaN, 7, the
    0..1 features of older data versions) would be predicted on silently and wrongly."""
    said = not_whole_0_4(values, names)
    if said is None:
        return
    version = str(payload["data_version"])
    raise ValueError(
        f"live {said}; the models (data version {version}) take whole numbers {LOW}..{HIGH}, "
        f"as Numerai's live.parquet has them. {_values_hint(values, version)}"
    )


def _values_hint(values: np.ndarray, version: str) -> str:
    """What to do, by what the features look like: quarters within 0..1 (0.25, 0.5, 0.75)
    are an older data version's features; anything else (a NaN, a 7) is not."""
    finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
    quarters = finite.size and finite.min() >= 0 and finite.max() <= 1
    if quarters and (finite != np.round(finite)).any():
        return (f"These look like an older data version's 0..1 features (0, .25, .5, .75, 1): "
                f"give the live data of {version}, or retrain on the version Numerai serves and "
                "rebuild the pickle.")  # fmt: skip
    return (f"Give Numerai's live.parquet of {version} as it is (no NaN, no rescaling), or "
            "retrain on the version Numerai serves and rebuild the pickle.")  # fmt: skip


def _ids(frame: pd.DataFrame) -> pd.Index:
    """The live ids: the index, as in Numerai's live.parquet, or an 'id' column (a frame
    whose index was reset) rather than row numbers Numerai would refuse."""
    index: pd.Index = frame.index
    if index.name != _ID and _ID in frame.columns:
        index = pd.Index(frame[_ID].to_numpy(), name=_ID)
    return index


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
    return pd.DataFrame({"prediction": final}, index=_ids(live_features))


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
