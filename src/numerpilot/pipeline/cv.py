"""Era cross-validation: out-of-fold predictions of every member, scored per fold and overall.

Each fold runs train's whole recipe (:func:`numerpilot.pipeline.train.fit_recipe`: tree
counts on inner era folds, ridge members, weights fitted on held-out eras, refit) on the
eras before its test block, behind a purge of the targets' horizon
(:func:`numerpilot.modeling.cv.era_folds`), and predicts the test block with every kept
member and the ensemble. A member the recipe drops in a fold (no weight) has no
prediction there (NaN). Every test era lies in exactly one fold, so the out-of-fold predictions
cover each once; the scoring engine scores them fold by fold, and the overall scores are
the per-era scores of all folds together (every metric is per era).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from numerpilot.config import Config
from numerpilot.data import layout
from numerpilot.data.catalog import feature_set
from numerpilot.data.load import EraData, load_era_data
from numerpilot.errors import DataError
from numerpilot.kernel.ensemble import Payload, build_models, combine, predict_members
from numerpilot.kernel.eras import EraIndex
from numerpilot.modeling.backends import FittedMember, resolved
from numerpilot.modeling.cv import EraSplit
from numerpilot.modeling.dask_address import LOCAL
from numerpilot.modeling.distributed import concat_era_data
from numerpilot.modeling.members import Member, ensemble_members, seed_columns, seed_groups
from numerpilot.pipeline.context import Context
from numerpilot.pipeline.cv_folds import (
    check_cv_settings,
    check_fold,
    cv_purge,
    folds_for,
    gap_text,
    unscorable_folds,
)
from numerpilot.pipeline.cv_results import (
    ENSEMBLE,
    CVResult,
    FoldResult,
    merge_reports,
)
from numerpilot.pipeline.members import fitter, local_size, model_params
from numerpilot.pipeline.plan import (
    check_main_target,
    neutralizer_features,
    with_era_step,
)
from numerpilot.pipeline.train import fit_recipe, linear_name, member_kinds
from numerpilot.progress import SILENT, Progress
from numerpilot.scoring.io import read_table
from numerpilot.scoring.per_era import PerEra
from numerpilot.scoring.report import ScoreReport, score_frame

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CVData:
    """The rows cross-validated: model features first, then neutralizers; the meta model
    (n,) with NaN where it does not cover (None when there is no meta model file)."""

    data: EraData
    n_model_features: int
    meta: np.ndarray | None
    #: Notes on the rows themselves (validation eras that are train eras too).
    notes: tuple[str, ...] = ()


def cv_era_step(ctx: Context, cluster: str | None = None) -> tuple[Context, int]:
    """``ctx`` with a numeric era step (the memory plan's for "auto"), and the workers of
    ``--cluster local`` beside it (0 otherwise), both checked before any feature is read."""
    cfg = ctx.config
    n_features = len(feature_set(ctx.data_dir, cfg.data.feature_set))
    n_targets = len(set(cfg.train.targets) | {cfg.train.main_target})
    ctx, plan = with_era_step(ctx, n_features, n_targets)
    return ctx, local_size(cfg, plan, n_features) if cluster == LOCAL else 0


def cv_files(cfg: Config) -> list[str]:
    """The dataset files cross-validated: train, and validation with cv.include_validation."""
    return [layout.TRAIN] + ([layout.VALIDATION] if cfg.cv.include_validation else [])


def load_cv_data(
    ctx: Context, progress: Progress = SILENT, *, eras: np.ndarray | None = None
) -> CVData:
    """Train (and with ``cv.include_validation`` validation) rows of the sampled eras
    (or exactly ``eras``), with the features, neutralizers and targets ``ctx`` needs."""
    cfg = ctx.config
    features = feature_set(ctx.data_dir, cfg.data.feature_set)
    extra = [f for f in neutralizer_features(ctx) if f not in set(features)]
    targets = list(dict.fromkeys([*cfg.train.targets, cfg.train.main_target]))
    parts = []
    for name in cv_files(cfg):
        check_main_target(ctx, name)
    with progress.task("Loading cross-validation data", None):
        for name in cv_files(cfg):
            parts.append(
                load_era_data(
                    ctx.data_dir / name, features + extra, targets,
                    era_step=cfg.data.step, eras=None if eras is None else list(eras),
                )
            )  # fmt: skip
    data = concat_era_data(parts)
    meta = meta_coverage(ctx.data_dir / layout.META_MODEL, data.ids)
    shared = shared_eras_note(parts)
    return CVData(data, len(features), meta, (shared,) if shared else ())


def shared_eras_note(parts: list[EraData]) -> str | None:
    """A note when validation (``parts[1]``) shares era labels with train (``parts[0]``): a
    dataset of your own whose files overlap; the rows of both are then one era each."""
    if len(parts) < 2:
        return None
    shared = np.intersect1d(np.unique(parts[0].eras), np.unique(parts[1].eras))
    if not len(shared):
        return None
    return (
        f"{len(shared)} validation eras ({shared[0]} to {shared[-1]}) are train eras too "
        "(cv.include_validation): the rows of both files with one era label are cross-"
        "validated as one era; give validation eras labels after train's last era"
    )


def meta_coverage(path: Path, ids: np.ndarray) -> np.ndarray | None:
    """The meta model aligned on ``ids`` (n,), NaN where it has no value (the meta model
    covers validation eras, not train); None when there is no meta model file."""
    if not path.exists():
        return None
    frame = read_table(path)
    if layout.META_MODEL_COLUMN not in frame.columns:
        raise DataError(f"{path.name} has no column '{layout.META_MODEL_COLUMN}'; "
                        "download it again with 'numerpilot download'.")  # fmt: skip
    position = frame.index.get_indexer(pd.Index(ids))
    found = position >= 0
    values = frame[layout.META_MODEL_COLUMN].to_numpy(dtype=np.float64)
    out = np.full(len(ids), np.nan)
    out[found] = values[position[found]]
    return out


def run_cv(
    ctx: Context,
    progress: Progress = SILENT,
    *,
    cv_data: CVData | None = None,
    folds: list[EraSplit] | None = None,
    purge: int | None = None,
    cluster: str | None = None,
    workers: int = 0,
) -> CVResult:
    """Cross-validate ``ctx``'s ensemble: out-of-fold predictions of every member and of
    the ensemble, scored per fold and overall. ``cv_data``/``folds`` let two configs be
    compared on the very same rows and folds (planned by the caller, ``workers`` sizing
    ``--cluster local``); with ``cluster`` every (fold, member) is a Dask task (see
    :mod:`numerpilot.modeling.distributed`)."""
    if cv_data is None:
        check_cv_settings(ctx.config)
        ctx, workers = cv_era_step(ctx, cluster)
    cfg = ctx.config
    n_features = len(feature_set(ctx.data_dir, cfg.data.feature_set))
    model_params(resolved(cfg), n_features)  # a GPU, backend or parameter: refused here
    purge = cv_purge(cfg) if purge is None else purge
    cvd = cv_data or load_cv_data(ctx, progress)
    data = cvd.data
    folds = folds or folds_for(cfg, data.eras, purge)
    n_feat = cvd.n_model_features
    model_data = era_view(data, n_features=n_feat)
    columns = cv_columns(cfg)
    oof = np.full((len(data), len(columns)), np.nan)
    results = []
    predicted: list[set[str]] = []  # the columns each fitted fold predicted
    ctx = replace(ctx, config=resolved(cfg))
    paths = [ctx.data_dir / name for name in cv_files(cfg)]
    unscored = unscorable_folds(
        data, folds, cfg.train.main_target
    )  # before any work: nothing to score in a fold
    for k, split in enumerate(folds, start=1):  # before any work: a target a fit lacks
        if k not in unscored:
            check_fold(ctx, era_view(model_data, eras=split.fit), k, len(folds),
                       gap=gap_text(cfg, purge))  # fmt: skip
    with fitter(ctx, model_data, paths, progress, cluster, workers) as fit:
        for number, split in enumerate(folds, start=1):
            if number in unscored:
                log.info("fold %d/%d: no test era can be scored; not fitted", number, len(folds))
                results.append(FoldResult(number, split, {}, _unscored(columns, split, cfg)))
                continue
            log.info("fold %d/%d: the recipe on %d eras", number, len(folds), len(split.fit))
            recipe = fit_recipe(ctx, era_view(model_data, eras=split.fit), fit, progress)
            kept, fitted = recipe.kept, recipe.fitted
            rows = np.flatnonzero(np.isin(data.eras, split.holdout))
            names, preds = _predict_fold(ctx, data, n_feat, kept, fitted, rows)
            predicted.append(set(names))
            present = np.array([columns.index(name) for name in names])
            oof[np.ix_(rows, present)] = preds
            with progress.task(f"Scoring fold {number}", None):
                scores = _score(cfg, cvd, rows, preds, tuple(columns[j] for j in present))
            trees = {f.name: f.best_iteration for f in fitted}
            results.append(FoldResult(number, split, trees, _widen(scores, columns)))
    overall = merge_reports([r.scores for r in results])
    overall = replace(overall, notes=(*cvd.notes, *overall.notes))
    dropped = _dropped_note(columns, predicted)
    if dropped:
        overall = replace(overall, notes=(*overall.notes, dropped))
    if "mmc" not in overall.metrics:  # say why the MMC column is empty
        overall = replace(overall, notes=(*overall.notes, _no_mmc_note(cfg, cvd)))
    return CVResult(columns, results, overall, purge, cfg.cv.embargo_eras, cfg.cv.scheme, oof,
                    data.eras, cfg.data.step, cfg.train.main_target)  # fmt: skip


def _dropped_note(columns: tuple[str, ...], predicted: list[set[str]]) -> str | None:
    """Which members the fitted weights dropped in some fitted folds (``predicted``: the
    columns each predicted), so that their scores cover fewer eras than the ensemble's."""
    counts = {c: sum(c in names for names in predicted) for c in columns if c != ENSEMBLE}
    short = [f"{c} in {'no' if n == 0 else f'{n} of {len(predicted)}'} fold"
             f"{'s' if len(predicted) > 1 else ''}"
             for c, n in counts.items() if n < len(predicted)]  # fmt: skip
    if not short:
        return None
    return (
        "a member the fitted weights drop in a fold is not refit there, so its scores "
        "cover only the folds that kept it (the 'eras' row): kept " + "; ".join(short)
    )


def _unscored(columns: tuple[str, ...], split: EraSplit, cfg: Config) -> ScoreReport:
    """The scores of a fold that has no era to score: none, and a note saying why."""
    test = split.holdout
    note = (
        f"not fitted or scored: none of its test eras ({test[0]} to {test[-1]}) has "
        f"'{cfg.train.main_target}' values in 80 % of its rows (e.g. validation eras whose targets "
        "are not resolved yet); a larger cv.test_eras or fewer cv.folds gives every fold "
        "eras to score"
    )
    empty = PerEra(test[:0], np.zeros((0, len(columns))), tuple(str(e) for e in test))
    return ScoreReport(columns, {"corr": empty}, (note,))


def cv_columns(cfg: Config) -> tuple[str, ...]:
    """Every column the recipe may keep (a target's trees, its seeds as one column; then a
    ridge member per target with ``model.linear``), then the ensemble."""
    targets = list(cfg.train.targets)
    names = [m.name for m in ensemble_members(cfg, [1.0] * len(targets))]
    trees = [name for name, _ in seed_groups(names)]
    linear = [linear_name(t) for t in targets] if cfg.model.linear else []
    return (*trees, *linear, ENSEMBLE)


def _widen(report: ScoreReport, columns: tuple[str, ...]) -> ScoreReport:
    """``report`` over all ``columns``, NaN for the columns it does not score."""
    where = [columns.index(c) for c in report.columns]
    metrics = {}
    for name, part in report.metrics.items():
        values = np.full((len(part.eras), len(columns)), np.nan)
        values[:, where] = part.values
        metrics[name] = PerEra(part.eras, values, part.skipped)
    return ScoreReport(columns, metrics, report.notes)


def era_view(
    data: EraData, *, eras: np.ndarray | None = None, n_features: int | None = None
) -> EraData:
    """The rows of ``eras`` (all when None) with the first ``n_features`` features: views,
    no copy, when the rows are contiguous (a fold's fit eras are)."""
    rows: slice | np.ndarray = slice(None)
    if eras is not None:
        found = np.flatnonzero(np.isin(data.eras, eras))
        contiguous = len(found) and found[-1] - found[0] + 1 == len(found)
        rows = slice(int(found[0]), int(found[-1]) + 1) if contiguous else found
    cols = slice(n_features)
    return EraData(
        data.ids[rows], data.eras[rows], data.features[rows, cols], data.feature_names[cols],
        data.targets[rows], data.target_names,
    )  # fmt: skip


def _payload(
    ctx: Context, data: EraData, n_feat: int, members: list[Member], fitted: list[FittedMember]
) -> Payload:
    cfg = ctx.config
    return {
        "backend": cfg.model.backend,
        "features": data.feature_names[:n_feat],
        "members": [m.name for m in members],
        "weights": [m.weight for m in members],
        "neutralization_proportion": cfg.ensemble.neutralization_proportion,
        "neutralizer_features": neutralizer_features(ctx),
        "models": {f.name: f.model_text for f in fitted},
        "kinds": member_kinds(fitted),
    }


def _predict_fold(
    ctx: Context,
    data: EraData,
    n_feat: int,
    members: list[Member],
    fitted: list[FittedMember],
    rows: np.ndarray,
) -> tuple[list[str], np.ndarray]:
    """Predictions (len(rows), g + 1) of the kept members (a target's seeds as one column:
    :func:`~numerpilot.modeling.members.seed_columns`) and of the ensemble; their names."""
    payload = _payload(ctx, data, n_feat, members, fitted)
    x = data.features[rows]
    index = EraIndex.from_eras(data.eras[rows])
    per_member = predict_members(payload, x, build_models(payload))
    # combine reads the neutralizers by name in input order: features, then the others.
    ensemble = combine(payload, per_member, _input_order(payload, data, x), index)
    names, columns = seed_columns(per_member, payload["members"], index)
    return [*names, ENSEMBLE], np.column_stack([columns, ensemble])


def _input_order(payload: Payload, data: EraData, x: np.ndarray) -> np.ndarray:
    from numerpilot.kernel.ensemble import input_columns

    position = {name: j for j, name in enumerate(data.feature_names)}
    wanted = [position[c] for c in input_columns(payload)]
    return x if wanted == list(range(len(wanted))) else x[:, wanted]


def _score(
    cfg: Config, cvd: CVData, rows: np.ndarray, preds: np.ndarray, columns: tuple[str, ...]
) -> ScoreReport:
    data = cvd.data
    meta = cvd.meta[rows] if cvd.meta is not None else None
    if meta is not None and np.isnan(meta).all():
        meta = None  # the meta model covers none of these eras
    return score_frame(
        preds,
        data.target(cfg.train.main_target)[rows],
        EraIndex.from_eras(data.eras[rows]),
        columns=columns,
        meta_model=meta,
        features=data.features[rows, : cvd.n_model_features],
        config=cfg.scoring,
    )


def _no_mmc_note(cfg: Config, cvd: CVData) -> str:
    why = (f"no {layout.META_MODEL} in the data" if cvd.meta is None
           else "the meta model covers none of the folds' test eras")  # fmt: skip
    hint = "" if cfg.cv.include_validation else (
        " (Numerai's covers validation eras only: cv.include_validation = true tests on them "
        "too)")  # fmt: skip
    return f"MMC: {why}, so none is scored{hint}"
