"""What a training run settles before it fits anything: the configured weights, the
neutralizers, the era step its memory allows, the held-out fits that choose the tree count
and the weights, and whether every target has known values where each fit needs them.

:mod:`numerpilot.pipeline.train` and :mod:`numerpilot.pipeline.cv` (per fold) use these.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace

import numpy as np

from numerpilot.config import DEMO_SETTINGS, Config, setting_name
from numerpilot.data import layout
from numerpilot.data.catalog import feature_set
from numerpilot.data.load import EraData, load_era_data
from numerpilot.errors import ConfigError, DataError
from numerpilot.kernel.eras import EraIndex
from numerpilot.modeling.backends import era_sample, member_split
from numerpilot.modeling.cv import EraSplit, TooFewErasError, purged_era_folds
from numerpilot.modeling.members import ensemble_members
from numerpilot.modeling.memory import (
    GIB,
    HEADROOM,
    MemoryPlan,
    available_bytes,
    beyond_available,
    every_nth_era,
    plan_memory,
)
from numerpilot.pipeline.context import Context
from numerpilot.pipeline.members import train_split

log = logging.getLogger(__name__)


def ensemble_weights(ctx: Context) -> list[float]:
    """``train.weights`` (one per target), checked; equal ones when unset (then fitted)."""
    train = ctx.config.train
    if train.weights is None:
        return [1.0] * len(train.targets)
    if (
        len(train.weights) != len(train.targets)
        or min(train.weights) < 0
        or sum(train.weights) <= 0
    ):
        raise ConfigError(
            f"train.weights must hold {len(train.targets)} non-negative numbers (one per "
            f"target, not all zero), got {train.weights}."
        )
    return list(train.weights)


def neutralizer_features(ctx: Context) -> list[str]:
    """The features the ensemble is neutralized against (none without neutralization); a
    set the data lacks is refused even at proportion 0, before raising it could fail."""
    ens = ctx.config.ensemble
    if ens.neutralization_proportion == 0 and ens.neutralize_against == "all":
        return []  # "all" always exists: no file is read
    features = feature_set(
        ctx.data_dir, ens.neutralize_against, "config key ensemble.neutralize_against"
    )
    return features if ens.neutralization_proportion else []


def train_eras(ctx: Context) -> EraIndex:
    """The eras of train.parquet and their row counts (only the era column is read)."""
    return load_era_data(ctx.data_dir / layout.TRAIN, []).era_index


def memory_plan(ctx: Context, n_features: int, n_targets: int) -> MemoryPlan:
    """The era step to train with, checked against the memory budget before loading (a
    stated budget beyond the memory available is trusted, with a warning)."""
    cfg = ctx.config
    sizes = train_eras(ctx).counts
    # A budget the user states is used whole; free memory keeps some headroom.
    budget = (
        int(cfg.train.memory_gb * GIB) if cfg.train.memory_gb else int(available_bytes() * HEADROOM)
    )
    step = None if cfg.data.era_step == "auto" else int(cfg.data.era_step)
    plan = plan_memory(sizes, n_features, n_targets, step, budget, stated=bool(cfg.train.memory_gb))
    warning = beyond_available(plan, available_bytes()) if cfg.train.memory_gb else None
    if warning:
        log.warning(warning)
    return plan


def with_era_step(ctx: Context, n_features: int, n_targets: int) -> tuple[Context, MemoryPlan]:
    """``ctx`` whose ``data.era_step`` is a number: the memory plan's when it is "auto"
    (a job that cannot fit is refused here, before any feature is read), and the plan."""
    plan = memory_plan(ctx, n_features, n_targets)
    if ctx.config.data.era_step == "auto" and plan.era_step > 1:  # less data: say so
        log.warning("data.era_step \"auto\": %s (%s rows) to fit in %.1f GiB of memory "
                    "(train.memory_gb); with more memory or a smaller feature set it takes "
                    "every era", every_nth_era(plan.era_step), f"{plan.rows:,}",
                    plan.budget / 2**30)  # fmt: skip
    data = ctx.config.data.model_copy(update={"era_step": plan.era_step})
    return replace(ctx, config=ctx.config.model_copy(update={"data": data})), plan


def fits_weights(cfg: Config) -> bool:
    """Whether train fits the ensemble weights on held-out eras (not given, and more than
    one member per seed: several targets, or a linear member)."""
    return cfg.train.weights is None and (len(cfg.train.targets) > 1 or cfg.model.linear)


def needs_holdout(ctx: Context) -> bool:
    """Whether held-out eras have anything to choose: the tree count, the weights, or
    (without a refit) the final models themselves."""
    train = ctx.config.train
    return train.early_stopping_rounds > 0 or fits_weights(ctx.config) or not train.refit


def held_out_splits(ctx: Context, data: EraData) -> list[EraSplit]:
    """The fits that choose on held-out eras: ``train.cv_folds`` purged era folds, or the
    holdout at the end of train."""
    cfg = ctx.config
    if uses_folds(ctx):
        embargo = math.ceil(cfg.train.embargo_eras / cfg.data.step)
        try:
            return purged_era_folds(data.eras, cfg.train.cv_folds, embargo)
        except TooFewErasError as error:
            said = str(error).rstrip(".")
            if cfg.data.step > 1:
                said += _step_note(cfg.data.step, cfg.train.embargo_eras, embargo)
            raise TooFewErasError(_in_demo_terms(said, demo=ctx.is_demo)) from None
    return [train_split(cfg, data.eras)]


def _step_note(step: int, embargo_eras: int, embargo: int) -> str:
    """Why an era step leaves few eras (the embargo spans fewer sampled eras), and the fix."""
    return (f"; data.era_step = {step} keeps {every_nth_era(step)} only, and an embargo of "
            f"{embargo_eras} eras spans {embargo} of those: lower data.era_step.")  # fmt: skip


def _in_demo_terms(message: str, *, demo: bool) -> str:
    """``message`` with each setting named as the user sets it (``demo.cv_folds`` under
    ``--demo``, whose [demo] values replace train's)."""
    for section, names in DEMO_SETTINGS.items():
        for name in names:
            key = f"{section}.{name}"
            message = message.replace(key, setting_name(key, demo=demo))
    return message


def uses_folds(ctx: Context) -> bool:
    """Whether held-out eras are ``train.cv_folds`` era folds (then refit), not one holdout."""
    return ctx.config.train.cv_folds >= 2 and ctx.config.train.refit


def check_main_target(ctx: Context, name: str) -> None:
    """Refuse, before any data is read, a ``train.main_target`` that the dataset file
    ``name`` lacks (of ``target`` itself, the loader says what to do)."""
    import pyarrow.parquet as pq

    main, path = ctx.config.train.main_target, ctx.data_dir / name
    if main == layout.MAIN_TARGET or not path.exists():
        return
    names = pq.read_schema(path).names
    if main not in names:
        have = [n for n in names if n.startswith(layout.MAIN_TARGET)]
        shown = ", ".join(have[:4]) + (", ..." if len(have) > 4 else "")
        raise DataError(f"{name} has no '{main}' column, train.main_target (the target the "
                        "ensemble weights are fitted against and validate scores on); set "
                        f"train.main_target to one of its targets ({shown or 'none'}; "
                        "'target' is the data's main one).")  # fmt: skip


def check_targets(ctx: Context, data: EraData, part: str = "the training eras") -> None:
    """Refuse, before any fit, a target without known values in the eras some fit needs
    (all of ``data``, named ``part`` in the message; the fit eras of an era fold or of the
    holdout, as each seed samples them with ``model.era_sample``; and the held-out eras
    that choose its tree count)."""
    cfg = ctx.config
    splits, folds = held_out_splits(ctx, data), uses_folds(ctx)
    seeds = sorted({m.seed for m in ensemble_members(cfg)})
    share = cfg.model.era_sample
    for t in cfg.train.targets:
        known = np.unique(data.eras[~np.isnan(data.target(t))])
        advice = layout.without_target_advice(t)
        if len(known) == 0:
            raise DataError(f"target '{t}' has no known values in {part}; {advice}.")
        span = f"target '{t}' is known only in eras {known[0]} to {known[-1]}"
        for k, split in enumerate(splits, start=1):
            fit, held, key = (
                (f"era fold {k}/{len(splits)}", f"the held-out eras of era fold {k}", "cv_folds")
                if folds
                else ("the fit before the holdout", "the holdout", "holdout_eras")
            )
            if needs_holdout(ctx) and not np.isin(split.holdout, known).any():
                raise DataError(f"{span}, and {held} ({split.holdout[0]} to "
                                f"{split.holdout[-1]}) {'have' if folds else 'has'} none of "
                                "them to choose its tree count on; "
                                f"{advice}, or change train.{key}.")  # fmt: skip
            for seed in seeds:
                if not np.isin(member_split(split, seed, share).fit, known).any():
                    raise DataError(f"{span}, and {fit}{_sampled(seed, share)} has none of "
                                    f"them; {advice}, or lower "
                                    f"train.{key}{_raise_share(share)}.")  # fmt: skip
        for seed in seeds if share < 1 else []:  # the refit on every era, sampled
            if not np.isin(era_sample(data.eras, seed, share), known).any():
                raise DataError(f"{span}, and the refit{_sampled(seed, share)} has none "
                                f"of them; {advice}"
                                f"{_raise_share(share)}.")  # fmt: skip
    _check_main_target_known(ctx, data, splits, part)


def _check_main_target_known(
    ctx: Context, data: EraData, splits: list[EraSplit], part: str
) -> None:
    """Refuse, before any fit, a ``train.main_target`` that the held-out eras which fit the
    ensemble weights against it (every split's) have no value of."""
    cfg = ctx.config
    main = cfg.train.main_target
    if not fits_weights(cfg) or main == layout.MAIN_TARGET:
        return  # 'target' itself: never NaN in Numerai's data, and load refuses it missing
    known = np.unique(data.eras[~np.isnan(data.target(main))])
    for split in splits:
        if not np.isin(split.holdout, known).any():
            where = (f"the held-out eras {split.holdout[0]} to {split.holdout[-1]}"
                     if len(known) else part)  # fmt: skip
            raise DataError(f"train.main_target '{main}' has no known values in {where}, "
                            "which fit the ensemble weights against it; choose a main target "
                            "known there (e.g. 'target'), or set train.weights.")  # fmt: skip


def _sampled(seed: int, share: float) -> str:
    return f" (seed {seed}'s share of its eras, model.era_sample = {share})" if share < 1 else ""


def _raise_share(share: float) -> str:
    return ", or raise model.era_sample" if share < 1 else ""
