"""The code a model-upload pickle carries into Numerai's runtime, serialised by value.

cloudpickle pickles this module's functions by value (see :mod:`numerpilot.deploy.build`);
they reach numpy, scipy, pandas and lightgbm only as module globals, which cloudpickle
stores as names, so loading the pickle never imports numerpilot. The arithmetic repeats
:func:`numerpilot.modeling.ensemble.ensemble`, :func:`numerpilot.scoring.neutralize_by_era`
and :func:`numerpilot.modeling.ensemble.rank_by_era` step for step, so the pickle predicts
exactly what ``numerpilot predict`` does. Keep this module self-contained: no numerpilot
imports, no numpy objects in the payload.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightgbm
import numpy as np
import pandas as pd
from scipy import linalg, special, stats

_PIVOT_FLOOR = 1e-10
_FLOAT32_EXACT = 2**24
_LIVE_ERA = "X"

Payload = dict[str, Any]


def rank_by_era(x: np.ndarray, eras: np.ndarray) -> np.ndarray:
    """Tie-kept percentile rank ``(rank - 0.5) / count`` of each column within each era."""
    x2 = np.asarray(x, dtype=np.float64).reshape(len(eras), -1)
    out = np.empty_like(x2)
    codes = np.unique(eras, return_inverse=True)[1].reshape(-1)
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    for rows in np.split(order, bounds):
        out[rows] = (stats.rankdata(x2[rows], axis=0) - 0.5) / len(rows)
    return out.reshape(np.shape(x))


def ensemble(predictions: np.ndarray, eras: np.ndarray, weights: list[float]) -> np.ndarray:
    """Weighted mean of per-era rank-gauss scores of the k models: (n, k) -> (n,)."""
    w = np.asarray(weights, dtype=np.float64)
    gauss = np.asarray(special.ndtri(rank_by_era(predictions, eras)))
    return np.asarray(gauss @ (w / w.sum()))


def _gram(block: np.ndarray) -> np.ndarray:
    if np.issubdtype(block.dtype, np.integer) and block.size:
        bound = int(max(abs(int(block.min())), abs(int(block.max()))))
        if bound * bound * len(block) < _FLOAT32_EXACT:
            b32 = block.astype(np.float32)
            return np.asarray(b32.T @ b32, dtype=np.float64)
    b64 = block.astype(np.float64)
    return np.asarray(b64.T @ b64)


def _fitted(block: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Projection of x (n_e, k) onto span([block, 1]) (numerai-tools' least squares)."""
    n = len(block)
    sums = block.sum(axis=0, dtype=np.float64)
    gram = _gram(block) - np.outer(sums, sums) / n
    centred_all = block.astype(np.float64) - sums / n
    keep = np.einsum("ij,ij->j", centred_all, centred_all) > 0
    centred = centred_all[:, keep] if not keep.all() else centred_all
    gram = gram[np.ix_(keep, keep)]
    mean = x.mean(axis=0)
    if not len(gram):
        return np.broadcast_to(mean, x.shape).copy()
    chol = None
    try:
        factor = linalg.cho_factor(gram, lower=True, check_finite=False)
        if np.all(np.diag(factor[0]) ** 2 / np.diag(gram) > _PIVOT_FLOOR):
            chol = factor
    except linalg.LinAlgError:
        chol = None
    if chol is None:
        design = np.hstack([block.astype(np.float64), np.ones((n, 1))])
        beta = np.linalg.lstsq(design, x, rcond=1e-6)[0]
        return np.asarray(design @ beta)
    beta = linalg.cho_solve(chol, centred.T @ (x - mean), check_finite=False)
    return np.asarray(centred @ beta + mean)


def neutralize_by_era(
    x: np.ndarray, neutralizers: np.ndarray, eras: np.ndarray, proportion: float
) -> np.ndarray:
    """x (n,) minus ``proportion`` times its per-era fit on the neutralizers -> (n, 1)."""
    xm = np.asarray(x, dtype=np.float64).reshape(len(eras), -1)
    out = np.empty_like(xm)
    for label in np.unique(eras):
        rows = np.flatnonzero(eras == label)
        block = xm[rows]
        done = block - proportion * _fitted(neutralizers[rows], block)
        done[:, block.std(axis=0) == 0] = np.nan
        out[rows] = done
    return out


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
