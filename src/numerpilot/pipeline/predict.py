"""Ensemble predictions for a data file, and the checked live submission file."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from numerpilot.data import layout
from numerpilot.data.live_round import live_round_number
from numerpilot.data.load import EraData, load_era_data, open_parquet
from numerpilot.data.tournaments import read_universe
from numerpilot.errors import DataError, SubmissionError
from numerpilot.io import json_text, sha256_file, write_files_atomic
from numerpilot.kernel.ensemble import combine, input_columns, predict_members
from numerpilot.kernel.linear import LINEAR
from numerpilot.modeling.manifest import Manifest
from numerpilot.modeling.members import seed_groups
from numerpilot.modeling.store import Bundle, describe, load_bundle
from numerpilot.pipeline.context import Context
from numerpilot.pipeline.plan import neutralizer_features
from numerpilot.progress import SILENT, Progress
from numerpilot.submission.rules import check_frame
from numerpilot.submission.rules.classic import check_predictions
from numerpilot.workdir import LIVE_PREDICTIONS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Predictions:
    """Per-member raw predictions (n, k) and the final ensemble (n,) in (0, 1)."""

    data: EraData
    per_model: np.ndarray
    models: list[str]
    final: np.ndarray


def _feature_fix(bundle: Bundle) -> str:
    return (f"The models were trained on data version {bundle.manifest.data_version}; "
            "download the matching data or retrain with 'numerpilot train'.")  # fmt: skip


def _check_neutralizers(bundle: Bundle, path: Path) -> None:
    """Refuse a file that lacks features the models neutralize against (only those: the
    model features are checked as the file is read), naming them as such."""
    model = set(bundle.payload["features"])
    wanted = [f for f in bundle.payload["neutralizer_features"] if f not in model]
    if not wanted:
        return
    have = set(open_parquet(path).schema_arrow.names)
    missing = [f for f in wanted if f not in have]
    if missing:
        shown = ", ".join(missing[:3]) + (
            f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        )
        raise DataError(f"{path.name} lacks {len(missing)} of the features the models "
                        f"neutralize against ({shown}: [ensemble] neutralize_against when they "
                        f"were trained). {_feature_fix(bundle)}")  # fmt: skip


def current_bundle(ctx: Context) -> Bundle:
    """The models in use (logged: which bundle), with a warning when they were trained on
    another data version than the one they now predict on, and one when ``numerpilot.toml``
    now asks for other settings than they were trained with (:func:`config_drift`): those
    are part of the bundle (what ``predict``, ``validate`` and the model-upload pickle all
    run), so a change applies at the next ``train``, not silently to some of them."""
    bundle = load_bundle(ctx.workdir.models)
    manifest = bundle.manifest
    log.info("using models %s", describe(manifest))
    if manifest.data_version != ctx.data_version:
        log.warning("the models in use were trained on data %s and now predict on data %s; "
                    "retrain with '%s' to train on it.", manifest.data_version,
                    ctx.data_version, _train_command(ctx))  # fmt: skip
    drift = config_drift(ctx, manifest)
    if drift:
        log.warning(drift)
    return bundle


def _train_command(ctx: Context) -> str:
    return "numerpilot train --demo" if ctx.is_demo else "numerpilot train"


def config_drift(ctx: Context, manifest: Manifest) -> str | None:
    """What ``numerpilot.toml`` asks for that the bundle was not trained with (None: nothing):
    another feature set, neutralization, model library, targets, or no linear members."""
    changes = []
    if ctx.config.data.feature_set != manifest.feature_set:
        changes.append(f"feature set '{ctx.config.data.feature_set}' (the models in use: "
                       f"'{manifest.feature_set}')")  # fmt: skip
    try:
        changes += _neutralization_drift(ctx, manifest)
    except DataError as error:  # train will refuse it; the models in use still predict
        unusable = f"[ensemble] of numerpilot.toml does not apply to the models in use: {error}"
        others = _model_drift(ctx, manifest)
        if not (changes or others):
            return unusable
        return f"{unusable} Besides, {_drift_line(ctx, changes + others)}"
    changes += _model_drift(ctx, manifest)
    return _drift_line(ctx, changes) if changes else None


def _drift_line(ctx: Context, changes: list[str]) -> str:
    return (f"numerpilot.toml asks for {' and '.join(changes)}; the models keep what they "
            f"were trained with until you run '{_train_command(ctx)}'.")  # fmt: skip


def _neutralization_drift(ctx: Context, manifest: Manifest) -> list[str]:
    """The neutralization ``numerpilot.toml`` asks for, when the bundle's differs; a
    DataError when its ``neutralize_against`` is no feature set of the data."""
    ens = ctx.config.ensemble
    want, have = ens.neutralization_proportion, manifest.neutralization_proportion
    if not (want or have):
        return []
    wanted = neutralizer_features(ctx)
    if want == have and wanted == manifest.neutralizer_features:
        return []
    asked = f"{want:g} against '{ens.neutralize_against}' ({len(wanted)} features)"
    used = f"{have:g} against {len(manifest.neutralizer_features)} features"
    return [f"neutralization {asked if want else 'none'} (the models in use: "
            f"{used if have else 'none'})"]  # fmt: skip


def _model_drift(ctx: Context, manifest: Manifest) -> list[str]:
    """The model library, targets and linear members that ``numerpilot.toml`` changed.

    Only what the bundle cannot hold under the config counts: ``train`` leaves out members
    whose held-out score is not clearly positive, so a configured target (or linear member)
    that the bundle lacks may be one left out, and is no change."""
    model, changes = ctx.config.model, []
    trees = [m for m in manifest.targets if manifest.kinds.get(m) != LINEAR]
    if trees and model.backend != manifest.backend:
        changes.append(f"model backend '{model.backend}' (the models in use: "
                       f"'{manifest.backend}')")  # fmt: skip
    groups = [name for name, _ in seed_groups(manifest.targets)]
    trained = list(dict.fromkeys(g.removesuffix(f".{LINEAR}") for g in groups))
    if not set(trained) <= set(ctx.config.train.targets):
        changes.append(f"targets {', '.join(ctx.config.train.targets)} (the models in use: "
                       f"{', '.join(trained)})")  # fmt: skip
    if not model.linear and len(trees) < len(manifest.targets):
        changes.append("no linear members (the models in use have some)")
    main = ctx.config.train.main_target
    if main != manifest.main_target and manifest.ensemble_holdout is not None:  # fitted
        changes.append(f"main target '{main}' (the models in use were weighted against "
                       f"'{manifest.main_target}')")  # fmt: skip
    return changes


def predict_file(
    bundle: Bundle,
    path: Path,
    *,
    targets: tuple[str, ...] = (),
    skip_first_eras: int = 0,
    progress: Progress = SILENT,
) -> Predictions:
    """Load ``path`` and run the kernel's ensemble on it (members, then their combination)."""
    payload = bundle.payload
    _check_neutralizers(bundle, path)
    data = load_era_data(
        path,
        input_columns(payload),
        targets,
        skip_first_eras=skip_first_eras,
        feature_fix=_feature_fix(bundle),
    )
    with progress.task(f"Predicting {path.name}", len(data)) as advance:
        per_member = predict_members(payload, data.features, bundle.models, on_batch=advance)
    final = combine(payload, per_member, data.features, data.era_index)
    return Predictions(data, per_member, list(payload["members"]), final)


def ticker_frame(ctx: Context, live_path: Path, final: np.ndarray) -> pd.DataFrame:
    """Signals/Crypto: the live predictions (n,) as ``<ticker column>,signal`` in the live
    file's row order, checked against the round's live universe."""
    universe = read_universe(ctx.data_dir, ctx.tournament)
    id_col = str(universe.columns[0])
    ids = pq.read_table(live_path, columns=[id_col]).column(id_col).to_pylist()
    frame = pd.DataFrame({id_col: ids, "signal": final})
    try:
        check_frame(frame, ctx.tournament, universe)
    except SubmissionError as error:
        raise DataError(f"the live predictions break the rules: {error}") from None
    return frame


def predict_live(ctx: Context, progress: Progress = SILENT) -> Path:
    """Write ``predictions/live_predictions.csv`` (Classic: id, prediction; Signals and
    Crypto: ticker column, signal), checked before it lands."""
    bundle = current_bundle(ctx)
    live_path = ctx.data_dir / layout.LIVE
    ids = layout.ID in open_parquet(live_path).schema_arrow.names
    if ctx.tournament == "classic" and not ids:
        raise DataError(f"{live_path} has no '{layout.ID}' column or index: a submission "
                        "names each row by the id Numerai gave it. Run 'numerpilot "
                        "download' for the round's live file.")  # fmt: skip
    result = predict_file(bundle, live_path, progress=progress)
    if len(result.data) == 0:
        raise DataError(f"{live_path} has no rows; download the live file again.")
    _refuse_several_eras(live_path, result.data.era_index.labels)
    if ctx.tournament == "classic":
        check_predictions(result.data.ids, result.final, result.data.ids)
        frame = pd.DataFrame({"id": result.data.ids, "prediction": result.final})
    else:
        frame = ticker_frame(ctx, live_path, result.final)
    dest = ctx.workdir.predictions / LIVE_PREDICTIONS
    sidecar = {
        "data_version": ctx.data_version,
        "live_sha256": sha256_file(live_path),
        "live_round": live_round_number(ctx.data_dir),
        "rows": len(frame),
        "models": result.models,
    }
    write_files_atomic(  # the file and its sidecar, both or neither
        {
            dest: frame.to_csv(index=False).encode("utf-8"),
            dest.with_suffix(".json"): json_text(sidecar).encode("utf-8"),
        }
    )
    log.info("wrote %d live predictions to %s", len(frame), dest)
    return dest


def _refuse_several_eras(live_path: Path, eras: np.ndarray) -> None:
    """A live file holds one era: the predictions are ranked per era, so a file of several
    would submit two rankings as one (and repeat ids across them)."""
    if len(eras) > 1:
        raise DataError(f"{live_path} holds {len(eras)} eras ({eras[0]}, {eras[1]}"
                        f"{', ...' if len(eras) > 2 else ''}), not the one live era of a round: "
                        "a submission ranks one era. Download the round's live file again "
                        "(or keep only the live era's rows in your own).")  # fmt: skip
