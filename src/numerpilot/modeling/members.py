"""The ensemble's members: one model per target and seed, each an independent task.

A member is what one training job fits: a target, a seed, and (in cross-validation) a
fold. Members never depend on one another, so they run one after another here or as
tasks on a Dask cluster (:mod:`numerpilot.modeling.distributed`) with the same result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerpilot.config import Config
from numerpilot.kernel.eras import EraIndex
from numerpilot.kernel.ranks import rank_gauss_by_era
from numerpilot.modeling.cv import EraSplit


@dataclass(frozen=True)
class Member:
    """One model of the ensemble: ``name`` (its file and column name), target, seed, weight."""

    name: str
    target: str
    seed: int
    weight: float


@dataclass(frozen=True)
class FitJob:
    """One fit of the training recipe: ``member`` on the rows of ``split.fit`` eras, at most
    ``trees`` trees, early-stopped on ``split.holdout`` after ``early_stopping_rounds``
    (0: every tree, the holdout only scored). ``label`` names it on a progress bar.
    ``keep_all_rounds``: the model keeps every round fitted, not only those up to its own
    best (a fold model, predicted at the count chosen over all folds)."""

    member: Member
    split: EraSplit
    trees: int
    early_stopping_rounds: int
    label: str
    keep_all_rounds: bool = False


#: Members per target without ``model.seeds``: averaging three seeds' column sampling in
#: the refit gained +0.0008 mean CORR on the quality families, for 1.2x the training time.
DEFAULT_SEEDS = 3
#: What joins a target and its seed in a member's name (``target.seed1``).
SEED_SUFFIX = ".seed"


def every_era(eras: np.ndarray) -> EraSplit:
    """A split that fits on every era of ``eras`` (n,) and holds none out (a refit)."""
    fit = np.unique(eras)
    return EraSplit(fit=fit, holdout=fit[:0])


def member_name(target: str, seed: int, n_seeds: int) -> str:
    """``target`` alone for one seed per target (the bundle layout of a plain ensemble),
    else ``target.seedN``."""
    return target if n_seeds == 1 else f"{target}{SEED_SUFFIX}{seed}"


def seed_groups(names: list[str]) -> list[tuple[str, list[int]]]:
    """Positions of ``names`` grouped by model: a target's seed members (``target.seedN``)
    as one group named after the target, in first-seen order; any other member alone."""
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        base, sep, seed = name.rpartition(SEED_SUFFIX)
        groups.setdefault(base if sep and seed.isdigit() else name, []).append(i)
    return list(groups.items())


def seed_columns(
    per_member: np.ndarray, names: list[str], index: EraIndex
) -> tuple[list[str], np.ndarray]:
    """Member predictions (n, k) as one column per :func:`seed_groups` group (n, g): a
    target's seeds averaged per era in gaussianised ranks (as the ensemble averages
    them), any other member as it is; with the groups' names. What reports score."""
    groups = seed_groups(names)
    columns = [
        rank_gauss_by_era(per_member[:, rows], index).mean(axis=1)
        if len(rows) > 1
        else per_member[:, rows[0]]
        for _, rows in groups
    ]
    return [name for name, _ in groups], np.column_stack(columns)


def ensemble_members(cfg: Config, weights: list[float] | None = None) -> list[Member]:
    """Targets x seeds, in config order; a target's weight is shared by its seeds.

    ``weights`` are one per target (default: ``train.weights`` or equal weights).
    """
    targets = list(cfg.train.targets)
    w = weights if weights is not None else (cfg.train.weights or [1.0] * len(targets))
    seeds = cfg.model.seeds or [cfg.lightgbm.seed + i for i in range(DEFAULT_SEEDS)]
    return [
        Member(member_name(t, s, len(seeds)), t, s, float(wt) / len(seeds))
        for t, wt in zip(targets, w, strict=True)
        for s in seeds
    ]
