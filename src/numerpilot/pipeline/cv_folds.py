"""The folds of a cross-validation and what is checked of them before any fit: the purge
before each test block (and where it comes from), the [cv] settings, the folds that can be
scored, and each fold's room for the recipe's held-out split."""

from __future__ import annotations

import numpy as np
import pandas as pd

from numerpilot.config import Config
from numerpilot.data.load import EraData
from numerpilot.errors import ConfigError, DataError
from numerpilot.modeling.cv import EraSplit, TooFewErasError, era_folds, gap_hint, purge_eras
from numerpilot.pipeline.context import Context
from numerpilot.pipeline.plan import check_targets, held_out_splits
from numerpilot.scoring.per_era import MAX_FILTERED_RATIO


def cv_purge(cfg: Config, *others: Config) -> int:
    """Eras purged before a test block: ``cv.purge_eras``, else the longest horizon of
    every target of ``cfg``, its main target included (and of the configs compared with it)."""
    if cfg.cv.purge_eras is not None:
        return cfg.cv.purge_eras
    targets = {t for c in (cfg, *others) for t in (*c.train.targets, c.train.main_target)}
    return max(purge_eras(t) for t in targets)


def gap_text(cfg: Config, purge: int, *others: Config) -> str:
    """The gap before each test block and where its purge comes from: ``cv.purge_eras``, or
    the horizon of the longest target (of ``cfg``, or of a config compared with it)."""
    why = "cv.purge_eras"
    if cfg.cv.purge_eras is None:
        targets = list(
            dict.fromkeys(
                t for c in (cfg, *others) for t in (*c.train.targets, c.train.main_target)
            )
        )
        longest = max(targets, key=purge_eras)
        theirs = ""
        if longest not in cfg.train.targets:
            mine = longest == cfg.train.main_target
            theirs = ", the main target" if mine else ", a target of the compared config"
        why = f"{longest}'s horizon{theirs}"
    return f"{purge} purged ({why}) + {cfg.cv.embargo_eras} embargo"


def check_cv_settings(cfg: Config) -> None:
    """Refuse [cv] settings that contradict each other, before any data is read: a
    walk-forward window with the expanding scheme, which trains on every earlier era."""
    cv = cfg.cv
    if cv.scheme == "expanding" and cv.train_eras:
        raise ConfigError(
            f"cv.train_eras = {cv.train_eras} is the walk-forward window, but cv.scheme is "
            "'expanding', which trains each fold on every era before its test block; set "
            'cv.scheme = "walk-forward" to train on a window, or remove cv.train_eras.'
        )


def folds_for(cfg: Config, eras: np.ndarray, purge: int) -> list[EraSplit]:
    cv = cfg.cv
    return era_folds(
        eras, n_folds=cv.folds, purge=purge, embargo=cv.embargo_eras, scheme=cv.scheme,
        test_eras=cv.test_eras, train_eras=cv.train_eras, era_step=cfg.data.step,
    )  # fmt: skip


def scorable_eras(data: EraData, main: str) -> np.ndarray:
    """The eras CORR can score: at least 2 rows and 80 % of them with a value of the main
    target ``main`` (as the scorer asks), and not all one value."""
    target = data.target(main).astype(np.float64)
    frame = pd.DataFrame({"era": data.eras, "t": np.where(np.isfinite(target), target, np.nan)})
    by_era = frame.groupby("era", sort=True)["t"]
    known, size = by_era.count(), by_era.size()
    ok = (known >= np.maximum(2, (1 - MAX_FILTERED_RATIO) * size)) & (by_era.nunique() > 1)
    return np.asarray(ok.index[ok.to_numpy()])


def unscorable_folds(data: EraData, folds: list[EraSplit], main: str) -> set[int]:
    """The numbers of the folds none of whose test eras can be scored (e.g. validation eras
    whose targets are not resolved yet): they are neither fitted nor scored. Refuses, before
    any fit, folds none of which can be scored."""
    scorable = scorable_eras(data, main)
    out = {k for k, f in enumerate(folds, start=1) if not np.isin(f.holdout, scorable).any()}
    if len(out) == len(folds):
        first, last = folds[0].holdout[0], folds[-1].holdout[-1]
        raise DataError(
            f"no test era of the cv folds ({first} to {last}) can be scored: none has "
            f"'{main}' values in 80 % of its rows (or they are all one value); "
            "check the target column, or set cv.include_validation = false if these are "
            "validation eras whose targets are not resolved yet."
        )
    return out


def check_fold(
    ctx: Context, fit: EraData, k: int, n: int, targets: bool = True, *, gap: str = ""
) -> None:
    """Refuse, before any fit, a fold whose training eras ``fit`` cannot hold the recipe's
    held-out split (or lack a target's values, with ``targets``); ``gap`` (see
    :func:`gap_text`) says what leaves eras out before each test block."""
    part = f"the training eras of cv fold {k}/{n} ({fit.eras[0]} to {fit.eras[-1]})"
    try:
        if targets:
            check_targets(ctx, fit, part)
        else:
            held_out_splits(ctx, fit)
    except TooFewErasError as error:
        cv = ctx.config.cv
        if cv.scheme == "walk-forward" and cv.train_eras:
            more = "raise cv.train_eras (the walk-forward window)"
        elif cv.test_eras:
            more = f"a smaller cv.test_eras (now {cv.test_eras})"
        else:
            more = (
                "set cv.test_eras to a few eras per fold (0 tests the folds on the whole "
                "later half, so the first fold trains on less than the earlier half)"
            )
        if gap:
            more += gap_hint(gap)
        raise DataError(f"{part}: {error} Or give each fold more training eras: {more}.") from None
