"""Era splits that respect overlapping targets: holdouts and folds behind an embargo."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerpilot.errors import DataError


@dataclass(frozen=True)
class EraSplit:
    """Eras to fit on and eras to evaluate on (sorted, disjoint, gap of ``embargo`` eras)."""

    fit: np.ndarray
    holdout: np.ndarray


def holdout_split(eras: np.ndarray, holdout: int, embargo: int) -> EraSplit:
    """Hold out the last ``holdout`` eras; drop ``embargo`` eras before them.

    ``eras`` are era labels that sort chronologically ("0001", "0002", ...).
    """
    uniq = np.unique(eras)
    if len(uniq) < holdout + embargo + 2:
        raise DataError(
            f"only {len(uniq)} training eras, too few for {holdout} holdout + {embargo} embargo "
            "eras; lower train.holdout_eras / train.embargo_eras or lower data.era_step."
        )
    return EraSplit(fit=uniq[: -(holdout + embargo)], holdout=uniq[-holdout:])


def purged_era_folds(eras: np.ndarray, n_folds: int, embargo: int) -> list[EraSplit]:
    """Contiguous era folds; ``embargo`` eras on both sides of each test fold are purged."""
    uniq = np.unique(eras)
    if n_folds < 2 or len(uniq) < n_folds * (embargo + 1):
        raise DataError(f"cannot make {n_folds} folds with embargo {embargo} from {len(uniq)} eras")
    folds = []
    for test in np.array_split(np.arange(len(uniq)), n_folds):
        lo, hi = test[0] - embargo, test[-1] + embargo
        fit = np.array([i for i in range(len(uniq)) if i < lo or i > hi], dtype=int)
        folds.append(EraSplit(fit=uniq[fit], holdout=uniq[test]))
    return folds
