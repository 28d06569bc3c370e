"""The tree count of the recipe: where held-out scores per boosting round peak.

Pure functions of the per-round held-out curves that the era folds (or the holdout)
record; :mod:`numerpilot.pipeline.train` fits the folds and calls these.
"""

from __future__ import annotations

import numpy as np


def best_round(curve: np.ndarray, window: int) -> int:
    """The round (1-based) where the centred moving average of ``curve`` peaks."""
    window = max(1, min(window, len(curve)))
    smoothed = np.convolve(curve, np.ones(window) / window, mode="valid")
    return int(np.argmax(smoothed)) + window // 2 + 1


def fold_curve(curves: list[tuple[float, ...]]) -> np.ndarray:
    """The mean held-out score per round over fold models that early-stopped at different
    rounds: only the rounds every fold reached (a fold stops once its own score has not
    improved for ``early_stopping_rounds``; past that, its score is not known, and filling
    it in would favour rounds only the best folds lived to see)."""
    length = min(len(c) for c in curves)
    return np.asarray(np.mean(np.array([c[:length] for c in curves]), axis=0))


def fold_tree_count(
    curves: list[tuple[float, ...]], early_stopping_rounds: int
) -> tuple[int, float]:
    """(tree count, held-out score there) from the folds' curves: where their
    :func:`fold_curve` peaks, smoothed over ``early_stopping_rounds / 4`` rounds (its last
    round without early stopping)."""
    curve = fold_curve(curves)
    window = max(1, early_stopping_rounds // 4)
    count = best_round(curve, window) if early_stopping_rounds else len(curve)
    return count, float(curve[count - 1])


def refit_trees(trees: int, fit_rows: float, all_rows: int) -> int:
    """Trees for the refit on every era: the chosen count scaled by the rows added
    (boosting on more rows of the same signal supports proportionally more trees)."""
    return max(1, round(trees * all_rows / max(1.0, fit_rows)))


def capped(
    curves: list[tuple[float, ...]], trees: int, cap: int, early_stopping_rounds: int
) -> bool:
    """Whether ``cap`` (``lightgbm.n_estimators``), not the data, set the tree count: every
    curve ran all ``cap`` rounds and the chosen count ``trees`` is within
    ``early_stopping_rounds`` of the end, so no fit saw its score stall after the peak."""
    ran = min((len(c) for c in curves), default=0)
    return early_stopping_rounds > 0 and ran >= cap and trees > cap - early_stopping_rounds
