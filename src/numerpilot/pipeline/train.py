"""Train the ensemble (one model per kept target and seed) and save the bundle atomically.

The recipe, chosen on the generator families of ``benchmarks/bench_quality.py``:
1. every era when train fits in memory (``data.era_step = "auto"``);
2. per target, the tree count is where the mean held-out score of ``cv_folds`` purged
   era folds peaks, each fold early-stopped on its own held-out eras (or, without folds,
   early stopping on the last ``holdout_eras``); with several seeds, the first seed's
   fits choose and every seed is refit with that count;
3. per target, a ridge-regression member (``model.linear``), its penalty chosen on the
   same held-out eras, with the feature products significant against the main target
   on each fit's eras (``model.linear_pairs``; :mod:`numerpilot.modeling.linear`);
4. ensemble weights are fitted on the out-of-fold predictions of every tree and linear
   member (per-era CORR with the main target), shrunk toward the main target's trees;
   members that do not help are dropped; a target's tree weight is shared by its seeds;
5. every kept member is fit again on all training eras, trees with the count scaled by the
   rows added (``train.refit``).

The recipe is written once, as lists of fit jobs handed to a fitter
(:mod:`numerpilot.pipeline.members`) that runs them here or as Dask tasks, with any
backend (LightGBM, XGBoost) and device: the same config gives the same bundle either way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np

from numerpilot.config import Config
from numerpilot.data import layout
from numerpilot.data.catalog import feature_set
from numerpilot.data.load import EraData, load_era_data
from numerpilot.kernel.eras import EraIndex
from numerpilot.kernel.linear import LINEAR
from numerpilot.modeling.backends import FittedMember, predict_fitted, resolved
from numerpilot.modeling.cv import EraSplit
from numerpilot.modeling.dask_address import LOCAL
from numerpilot.modeling.linear import fit_linear
from numerpilot.modeling.manifest import Manifest
from numerpilot.modeling.members import (
    FitJob,
    Member,
    ensemble_members,
    every_era,
    seed_groups,
)
from numerpilot.modeling.memory import GIB
from numerpilot.modeling.store import save_bundle
from numerpilot.modeling.tree_count import capped, fold_tree_count, refit_trees
from numerpilot.modeling.weights import fit_weights
from numerpilot.pipeline.context import Context
from numerpilot.pipeline.members import Fitter, fitter, local_size, model_params
from numerpilot.pipeline.plan import (
    check_main_target,
    check_targets,
    ensemble_weights,
    held_out_splits,
    needs_holdout,
    neutralizer_features,
    uses_folds,
    with_era_step,
)
from numerpilot.progress import SILENT, Progress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Choice:
    """What the held-out eras said about one target (over its seeds).

    trees: the tree count chosen for models fit on ``fit_rows`` rows; score: the held-out
    mean per-era correlation there; rows (m,): rows of the data with out-of-sample
    predictions ``preds`` (m,), the mean of the seeds'; fitted: the stage-one members
    (single holdout only), kept as the final models without a refit.
    """

    trees: int
    fit_rows: float
    score: float | None
    rows: np.ndarray
    preds: np.ndarray
    fitted: tuple[FittedMember, ...] = ()


def _fit_rows(data: EraData, target: str, eras: np.ndarray) -> int:
    return int((~np.isnan(data.target(target)) & np.isin(data.eras, eras)).sum())


def _mean(arrays: list[np.ndarray]) -> np.ndarray:
    return arrays[0] if len(arrays) == 1 else np.mean(np.array(arrays), axis=0)


def _choose_by_holdout(
    data: EraData, target: str, split: EraSplit, fitted: list[FittedMember]
) -> _Choice:
    """Early stopping on the holdout chose each seed's tree count; the target's is their
    mean, its held-out predictions the mean of the seeds'."""
    rows = np.flatnonzero(np.isin(data.eras, split.holdout))
    preds = _mean([predict_fitted(f, data.features, rows, f.best_iteration) for f in fitted])
    trees = round(float(np.mean([f.best_iteration for f in fitted])))
    scores = [f.holdout_score for f in fitted if f.holdout_score is not None]
    score = float(np.mean(scores)) if scores else None
    return _Choice(trees, _fit_rows(data, target, split.fit), score, rows, preds, tuple(fitted))


def _choose_by_folds(
    ctx: Context, data: EraData, target: str, folds: list[EraSplit], fitted: list[FittedMember]
) -> _Choice:
    """The held-out score per round, averaged over the folds, chooses the tree count (a
    single holdout lives in one regime and can pick far too few). ``fitted``: one model
    per fold (of the first seed: :func:`_choosing`), each early-stopped on its own fold
    (:func:`~numerpilot.modeling.tree_count.fold_curve`)."""
    trees, score = fold_tree_count(
        [f.curve for f in fitted], ctx.config.train.early_stopping_rounds
    )
    preds = np.full(len(data), np.nan)
    for fold, model in zip(folds, fitted, strict=True):
        rows = np.flatnonzero(np.isin(data.eras, fold.holdout))
        preds[rows] = predict_fitted(model, data.features, rows, trees)
    fit_rows = float(np.mean([_fit_rows(data, target, f.fit) for f in folds]))
    return _Choice(trees, fit_rows, score, np.arange(len(data)), preds)


def member_kinds(fitted: list[FittedMember]) -> dict[str, str]:
    """The payload's ``kinds``: the members that are not trees of the backend (linear)."""
    return {f.name: LINEAR for f in fitted if f.backend == LINEAR}


def linear_name(target: str) -> str:
    """The member name of a target's linear model."""
    return f"{target}.{LINEAR}"


def _group_weights(ctx: Context, groups: list[str]) -> dict[str, float]:
    """``train.weights`` per group: a target's weight, split evenly between its tree
    models and its linear model (when there is one)."""
    out = {}
    for target, w in zip(ctx.config.train.targets, ensemble_weights(ctx), strict=True):
        kinds = [g for g in (target, linear_name(target)) if g in groups]
        out.update({g: w / len(kinds) for g in kinds})
    return out


def _fitted_weights(
    ctx: Context, choices: dict[str, _Choice], data: EraData
) -> tuple[dict[str, float], float | None]:
    """Configured weights, or weights fitted on the held-out predictions of every group
    (a target's tree models, keyed by the target; its linear model, by its member name),
    with the ensemble's mean held-out CORR per era then (None for configured weights)."""
    groups = list(choices)
    if ctx.config.train.weights is not None or len(groups) == 1:
        return _group_weights(ctx, groups), None
    rows = choices[groups[0]].rows
    target = ctx.config.train.main_target
    main = data.target(target)[rows]
    preds = np.column_stack([choices[g].preds for g in groups])
    ok = ~np.isnan(main) & ~np.isnan(preds).any(axis=1)
    main_member = groups.index(target) if target in groups else None
    index = EraIndex.from_eras(data.eras[rows][ok])
    fit = fit_weights(preds[ok], main[ok], index, main_member)
    for g, w, m, tt in zip(groups, fit.weights, fit.member_mean, fit.member_t, strict=True):
        log.info("%s: held-out CORR %.4f (t %.1f), weight %.2f", g, m, tt, w)
    log.info("held-out CORR of the ensemble %.4f (equal weights %.4f)", fit.ensemble_mean,
             fit.equal_mean)  # fmt: skip
    return {g: float(w) for g, w in zip(groups, fit.weights, strict=True)}, fit.ensemble_mean


def _choose_linear(ctx: Context, data: EraData, progress: Progress) -> dict[str, _Choice]:
    """Per target, a ridge member: its penalty chosen on the same held-out eras as the
    trees' count (era folds, or the holdout), then fit on every era (or, without a refit,
    on the holdout's fit eras)."""
    cfg = ctx.config
    targets = list(cfg.train.targets)
    splits = held_out_splits(ctx, data)
    final = every_era(data.eras) if cfg.train.refit else splits[0]
    y = np.column_stack([data.target(t) for t in targets])
    screen = data.target(cfg.train.main_target) if cfg.model.linear_pairs else None
    with progress.task("Fitting the linear members", len(splits) + 3) as advance:
        fits = fit_linear(data.features, y, data.eras, splits, final, screen=screen,
                          advance=advance)  # fmt: skip
    rows = np.flatnonzero(np.isin(data.eras, np.concatenate([s.holdout for s in splits])))
    if uses_folds(ctx):
        rows = np.arange(len(data))
    out = {}
    for t, lin in zip(targets, fits, strict=True):
        name = linear_name(t)
        log.info("%s: ridge penalty %g, %d feature product%s (era dependence x%.1f), "
                 "held-out CORR %.4f", name, lin.penalty, lin.pairs, "s" * (lin.pairs != 1),
                 lin.inflation, lin.score)  # fmt: skip
        member = FittedMember(name, t, LINEAR, lin.model_text, 0, lin.score)
        out[name] = _Choice(0, 0.0, lin.score, rows, lin.preds[rows], (member,))
    return out


def _choose(
    ctx: Context, data: EraData, members: list[Member], fit: Fitter
) -> dict[str, _Choice] | None:
    """Per target, what held-out eras say: by era folds (``train.cv_folds``), or by the
    last ``holdout_eras`` (without folds, or when the stage-one models are kept)."""
    cfg = ctx.config
    if not needs_holdout(ctx):
        return None
    n, rounds = cfg.lightgbm.n_estimators, cfg.train.early_stopping_rounds
    targets = list(cfg.train.targets)
    splits = held_out_splits(ctx, data)
    if uses_folds(ctx):
        jobs = [
            FitJob(m, fold, n, rounds, f"Cross-validating {m.name} ({k}/{len(splits)})", True)
            for m in members
            for k, fold in enumerate(splits, start=1)
        ]
        by_target = _by_target(jobs, fit(jobs))
        choices = {t: _choose_by_folds(ctx, data, t, splits, by_target[t]) for t in targets}
    else:
        jobs = [FitJob(m, splits[0], n, rounds, f"Training {m.name}") for m in members]
        by_target = _by_target(jobs, fit(jobs))
        choices = {t: _choose_by_holdout(data, t, splits[0], by_target[t]) for t in targets}
    for t, choice in choices.items():
        _log_tree_count(ctx, t, choice, [f.curve for f in by_target[t]])
    return choices


def _log_tree_count(
    ctx: Context, target: str, choice: _Choice, curves: list[tuple[float, ...]]
) -> None:
    """The tree count held-out eras chose; a warning when ``n_estimators`` chose it instead
    (the held-out score was still improving there)."""
    log.info("%s: %d trees chosen on held-out eras (CORR %.4f there)", target, choice.trees,
             choice.score if choice.score is not None else float("nan"))  # fmt: skip
    n, rounds = ctx.config.lightgbm.n_estimators, ctx.config.train.early_stopping_rounds
    if capped(curves, choice.trees, n, rounds):
        section = "[demo]" if ctx.is_demo else "[lightgbm]"  # where --demo's count comes from
        log.warning("%s: the held-out score was still improving at %d trees, the most "
                    "%s n_estimators allows; more trees may score better (raise "
                    "n_estimators: early stopping still chooses the count)", target, n,
                    section)  # fmt: skip


def _by_target(jobs: list[FitJob], fitted: list[FittedMember]) -> dict[str, list[FittedMember]]:
    """Fitted members grouped by target, in job order."""
    out: dict[str, list[FittedMember]] = {}
    for job, f in zip(jobs, fitted, strict=True):
        out.setdefault(job.member.target, []).append(f)
    return out


def _final(
    ctx: Context, data: EraData, members: list[Member], choices: dict[str, _Choice] | None,
    fit: Fitter,
) -> list[FittedMember]:  # fmt: skip
    """The final model of every member: its stage-one model without a refit, else a fit on
    every era with the chosen tree count scaled by the rows added."""
    cfg = ctx.config
    if choices is not None and not cfg.train.refit:
        return [_stage_one(choices[m.target], m) for m in members]
    jobs = []
    for m in members:
        choice = (choices or {}).get(m.target)
        n = cfg.lightgbm.n_estimators
        if choice is not None and cfg.train.early_stopping_rounds:
            all_rows = int((~np.isnan(data.target(m.target))).sum())
            n = refit_trees(choice.trees, choice.fit_rows, all_rows)
        jobs.append(FitJob(m, every_era(data.eras), n, 0, f"Refitting {m.name} on every era"))
    return fit(jobs)


def _choosing(cfg: Config, members: list[Member]) -> list[Member]:
    """The members whose held-out fits choose the tree counts and weights: with a refit,
    the first seed's only (every seed is then refit with its target's count: the seeds
    average out the trees' column sampling in the final models, where it matters, at one
    fold stage's cost); without, every seed (its stage-one model is its final one)."""
    if not cfg.train.refit:
        return members
    first = members[0].seed
    return [m for m in members if m.seed == first]


def _stage_one(choice: _Choice, member: Member) -> FittedMember:
    return next(f for f in choice.fitted if f.name == member.name)


@dataclass(frozen=True)
class FittedRecipe:
    """What the recipe made: the kept members (with their weights; trees first, then the
    linear ones), their final models, their held-out scores and the ensemble's."""

    kept: list[Member]
    fitted: list[FittedMember]
    scores: dict[str, float | None]
    ensemble_score: float | None


def fit_recipe(
    ctx: Context, data: EraData, fit: Fitter, progress: Progress = SILENT
) -> FittedRecipe:
    """The recipe: choose on held-out eras, fit the weights, refit the kept members
    (``progress`` shows the linear members' fit; ``fit`` the trees')."""
    cfg = ctx.config
    targets = list(cfg.train.targets)
    members = ensemble_members(cfg, [1.0] * len(targets))
    choices = _choose(ctx, data, _choosing(cfg, members), fit)
    linear = _choose_linear(ctx, data, progress) if cfg.model.linear else {}
    ensemble_score = None
    if choices is None and linear:  # nothing chosen for the trees: weights as configured
        weights = _group_weights(ctx, [*targets, *linear])
    elif choices is None:
        weights = dict(zip(targets, ensemble_weights(ctx), strict=True))
    else:
        weights, ensemble_score = _fitted_weights(ctx, {**choices, **linear}, data)
    tree_weights = [weights.get(t, 0.0) for t in targets]
    kept = [m for m in ensemble_members(cfg, tree_weights) if m.weight > 0]
    scores = {m.name: choices[m.target].score if choices else None for m in kept}
    fitted = _final(ctx, data, kept, choices, fit)
    for name, choice in linear.items():
        if weights.get(name, 0.0) > 0:
            kept.append(Member(name, choice.fitted[0].target, 0, weights[name]))
            scores[name] = choice.score
            fitted.append(choice.fitted[0])
    return FittedRecipe(kept, fitted, scores, ensemble_score)


def train_ensemble(
    ctx: Context, progress: Progress = SILENT, *, publish: bool = True, cluster: str | None = None
) -> Manifest:
    """Fit the ensemble: per target, choose the tree count on held-out eras, fit the
    ensemble weights on the held-out predictions, then refit every kept member (target x
    seed) on all training eras, here or (with ``cluster``) as Dask tasks.

    The bundle becomes the current one unless ``publish`` is False (then it waits, beside
    the current one, for a decision: see :mod:`numerpilot.pipeline.retrain`).
    """
    if cluster is not None:
        from numerpilot.modeling.dask_address import check_address

        check_address(cluster)
    ensemble_weights(ctx)  # a bad train.weights is refused before any work
    features = feature_set(ctx.data_dir, ctx.config.data.feature_set)
    neutralizers = neutralizer_features(ctx)
    targets = list(ctx.config.train.targets)
    main = ctx.config.train.main_target
    loaded = targets if main in targets else [*targets, main]
    ctx, plan = with_era_step(ctx, len(features), len(loaded))
    log.info("era step %d: %d rows, about %.1f GiB (budget %.1f GiB)", plan.era_step,
             plan.rows, plan.estimate / GIB, plan.budget / GIB)  # fmt: skip
    cfg = resolved(ctx.config)
    ctx = replace(ctx, config=cfg)
    params = model_params(cfg, len(features))  # a GPU, backend or parameter: refused here
    workers = local_size(cfg, plan, len(features)) if cluster == LOCAL else 0
    if cluster not in (None, LOCAL):  # a wrong address is told now, not after the loading
        from numerpilot.modeling.dask_address import check_scheduler

        check_scheduler(cluster)
    path = ctx.data_dir / layout.TRAIN
    check_main_target(ctx, layout.TRAIN)
    with progress.task("Loading training data", None):
        data = load_era_data(path, features, loaded, era_step=plan.era_step)
    log.info("training on %d rows, %d eras, %d features", len(data),
             data.era_index.n_eras, len(features))  # fmt: skip
    check_targets(ctx, data)
    with fitter(ctx, data, [path], progress, cluster, workers) as fit:
        recipe = fit_recipe(ctx, data, fit, progress)
    kept, fitted = recipe.kept, recipe.fitted
    manifest = Manifest(
        data_version=ctx.data_version,
        feature_set=cfg.data.feature_set,
        features=features,
        targets=[m.name for m in kept],
        weights=[m.weight for m in kept],
        params={**params, "seed": sorted({m.seed for m in ensemble_members(cfg)})},
        best_iterations={f.name: f.best_iteration for f in fitted},
        holdout_scores=recipe.scores,
        neutralization_proportion=cfg.ensemble.neutralization_proportion,
        neutralizer_features=neutralizers,
        backend=cfg.model.backend,
        kinds=member_kinds(fitted),
        ensemble_holdout=recipe.ensemble_score,
        era_step=cfg.data.step,
        main_target=cfg.train.main_target,
    )
    texts = {f.name: f.model_text for f in fitted}
    return save_bundle(ctx.workdir.models, manifest, texts, publish=publish)


def left_out(cfg: Config, manifest: Manifest) -> list[str]:
    """The configured targets' tree and linear members that got no weight (their held-out
    score was not clearly positive): the ensemble has none of their models."""
    kept = {group for group, _ in seed_groups(manifest.targets)}
    wanted = [*cfg.train.targets, *(linear_name(t) for t in cfg.train.targets if cfg.model.linear)]
    return [name for name in wanted if name not in kept]
