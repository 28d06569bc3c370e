"""Ensemble predictions for a data file, and the validated live submission file."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numerai_tools.submissions import validate_submission_numerai

from numerpilot.api.download import read_live_round
from numerpilot.data import layout
from numerpilot.data.load import EraData, load_era_data
from numerpilot.errors import DataError, SubmissionError
from numerpilot.io import atomic_path, sha256_file, write_json_atomic
from numerpilot.modeling.ensemble import ensemble, neutralize_by_era, rank_by_era
from numerpilot.modeling.lgbm import predict
from numerpilot.modeling.store import Bundle, load_bundle
from numerpilot.pipeline.context import Context
from numerpilot.progress import SILENT, Progress

log = logging.getLogger(__name__)

LIVE_PREDICTIONS = "live_predictions.csv"


@dataclass(frozen=True)
class Predictions:
    """Per-model raw predictions (n, k) and the final ensemble (n,) in (0, 1)."""

    data: EraData
    per_model: np.ndarray
    models: list[str]
    final: np.ndarray


def _feature_fix(bundle: Bundle) -> str:
    return (f"The models were trained on data version {bundle.manifest.data_version}; "
            "download the matching data or retrain with 'numerpilot train'.")  # fmt: skip


def predict_file(
    bundle: Bundle,
    path: Path,
    *,
    targets: tuple[str, ...] = (),
    skip_first_eras: int = 0,
    progress: Progress = SILENT,
) -> Predictions:
    """Load ``path`` and run the whole ensemble (models, rank-gauss mean, neutralization)."""
    m = bundle.manifest
    columns = list(dict.fromkeys(m.features + m.neutralizer_features))
    data = load_era_data(
        path, columns, targets, skip_first_eras=skip_first_eras, feature_fix=_feature_fix(bundle)
    )
    position = {name: j for j, name in enumerate(columns)}
    model_x = data.features[:, [position[f] for f in m.features]]
    per_model = np.empty((len(data), len(m.targets)))
    with progress.task(f"Predicting {path.name}", len(m.targets)) as advance:
        for k, target in enumerate(m.targets):
            per_model[:, k] = predict(bundle.boosters[target], model_x)
            advance(1)
    combined = ensemble(per_model, data.eras, np.asarray(m.weights))
    if m.neutralization_proportion > 0:
        neutral_x = data.features[:, [position[f] for f in m.neutralizer_features]]
        combined = neutralize_by_era(
            combined, neutral_x, data.eras, m.neutralization_proportion
        ).reshape(-1)
    final = rank_by_era(combined, data.eras)
    return Predictions(data, per_model, list(m.targets), final)


def check_submission(ids: np.ndarray, predictions: np.ndarray, live_ids: np.ndarray) -> None:
    """Numerai's Classic submission rules (numerai-tools) or a :class:`SubmissionError`."""
    frame = pd.DataFrame({"id": ids, "prediction": predictions})
    try:
        validate_submission_numerai(pd.Series(live_ids), frame)
    except AssertionError as error:
        raise SubmissionError(f"the submission breaks Numerai's rules: {error}") from None


def predict_live(ctx: Context, progress: Progress = SILENT) -> Path:
    """Write ``predictions/live_predictions.csv`` (id, prediction), checked before it lands."""
    bundle = load_bundle(ctx.workdir.models)
    live_path = ctx.data_dir / layout.LIVE
    result = predict_file(bundle, live_path, progress=progress)
    if len(result.data) == 0:
        raise DataError(f"{live_path} has no rows; download the live file again.")
    check_submission(result.data.ids, result.final, result.data.ids)
    dest = ctx.workdir.predictions / LIVE_PREDICTIONS
    frame = pd.DataFrame({"id": result.data.ids, "prediction": result.final})
    with atomic_path(dest) as tmp:
        frame.to_csv(tmp, index=False)
    live_round = (read_live_round(ctx.data_dir) or {}).get("round")
    write_json_atomic(
        dest.with_suffix(".json"),
        {
            "data_version": ctx.data_version,
            "live_sha256": sha256_file(live_path),
            "live_round": live_round,
            "rows": len(frame),
            "models": result.models,
        },
    )
    log.info("wrote %d live predictions to %s", len(frame), dest)
    return dest
