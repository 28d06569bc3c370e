"""Era splits that respect overlapping targets: holdouts and folds behind an embargo."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerpilot.data.eras import era_numbers
from numerpilot.errors import DataError
from numerpilot.words import plural


@dataclass(frozen=True)
class EraSplit:
    """Eras to fit on and eras to evaluate on (sorted, disjoint, gap of ``embargo`` eras)."""

    fit: np.ndarray
    holdout: np.ndarray


class TooFewErasError(DataError):
    """The eras at hand cannot make the held-out split or folds asked for."""


def _era_step_hint(era_step: int | None) -> str:
    """The advice to sample more eras, unless every era is already read (step 1)."""
    return "" if era_step == 1 else ", or lower data.era_step"


def holdout_split(
    eras: np.ndarray, holdout: int, embargo: int, *, era_step: int | None = None
) -> EraSplit:
    """Hold out the last ``holdout`` eras; drop ``embargo`` eras before them.

    ``eras`` are era labels that sort chronologically ("0001", "0002", ...); ``era_step``
    (None: unknown) only shapes the advice of the error.
    """
    uniq = np.unique(eras)
    need = holdout + embargo + 2
    if len(uniq) < need:
        raise TooFewErasError(
            f"only {plural(len(uniq), 'training era')}, too few for the holdout, which needs "
            f"{need} ({holdout} holdout + {embargo} embargo + 2 to fit on); lower "
            "train.holdout_eras / train.embargo_eras (with --demo: demo.holdout_eras / "
            "demo.embargo_eras)"
            f"{_era_step_hint(era_step)}."
        )
    return EraSplit(fit=uniq[: -(holdout + embargo)], holdout=uniq[-holdout:])


def purged_era_folds(eras: np.ndarray, n_folds: int, embargo: int) -> list[EraSplit]:
    """Contiguous era folds; ``embargo`` eras on both sides of each test fold are purged."""
    uniq = np.unique(eras)
    if n_folds < 2 or len(uniq) < n_folds * (embargo + 1):
        raise TooFewErasError(
            f"cannot make {n_folds} era folds with an embargo of {plural(embargo, 'era')} from "
            f"{plural(len(uniq), 'training era')}; lower train.cv_folds or train.embargo_eras "
            "(0 folds: one holdout of train.holdout_eras)."
        )
    folds = []
    for test in np.array_split(np.arange(len(uniq)), n_folds):
        lo, hi = test[0] - embargo, test[-1] + embargo
        fit = np.array([i for i in range(len(uniq)) if i < lo or i > hi], dtype=int)
        folds.append(EraSplit(fit=uniq[fit], holdout=uniq[test]))
    return folds


# --- Cross-validation by era: walk-forward and expanding windows, purged per horizon -----

#: Trading days per weekly era.
_DAYS_PER_ERA = 5
#: Eras between a target's last day and the next era that may be used safely (publication lag).
_LAG_ERAS = 4
#: Horizon of a target whose name carries none (``target``: the 20-day main target).
DEFAULT_HORIZON_DAYS = 20


def horizon_days(target: str) -> int:
    """Days a target looks ahead, from its name: ``target_cyrus_v4_20`` -> 20, ``_60`` -> 60.

    A name without a trailing number (``target``, the main target) counts as 20 days.
    """
    tail = target.rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() and "_" in target else DEFAULT_HORIZON_DAYS


def purge_eras(target: str) -> int:
    """Eras to purge between training and a test era for ``target``: the eras its label
    spans plus the publication lag (20-day targets: 8 eras, 60-day: 16)."""
    return -(-horizon_days(target) // _DAYS_PER_ERA) + _LAG_ERAS


def gap_hint(now: str = "") -> str:
    """The advice to narrow the gap before each test block (``now``: what it is), and its
    cost."""
    where = f", now {now}" if now else ""
    return (
        f", or leave fewer eras out before each test block{where}: a smaller cv.purge_eras "
        "or cv.embargo_eras (a purge shorter than the targets' horizon lets training eras "
        "share outcomes with test eras)"
    )


def era_folds(
    eras: np.ndarray,
    *,
    n_folds: int,
    purge: int,
    embargo: int = 0,
    scheme: str = "expanding",
    test_eras: int = 0,
    train_eras: int = 0,
    era_step: int | None = None,
) -> list[EraSplit]:
    """Walk-forward or expanding-window folds: each test block follows its training eras.

    The sorted unique ``eras`` end with ``n_folds`` consecutive test blocks of
    ``test_eras`` eras each (0: the eras after a first training window as long as all the
    test blocks, split evenly). A fold trains on the eras before its test block whose
    distance (in era numbers, see :func:`era_numbers`) to the block's first era is more
    than ``purge + embargo``: ``purge`` covers the overlap of the target's label with the
    test eras; ``embargo`` adds a safety gap on top. ``scheme="expanding"`` trains on
    every such era; ``"walk-forward"`` on the last ``train_eras`` of them (0: as many as
    the first fold has; more is refused), so each fold sees a window of the same length.
    ``era_step`` (None: unknown) only shapes the advice of the errors.
    """
    if scheme not in ("expanding", "walk-forward"):
        raise DataError(f"cv.scheme must be 'expanding' or 'walk-forward', got {scheme!r}")
    uniq = np.unique(eras)
    numbers = era_numbers(uniq)
    gap = purge + embargo
    if n_folds < 1:
        raise DataError(f"cv.folds must be at least 1, got {n_folds}")
    size = test_eras or len(uniq) // (2 * n_folds)
    first_test = len(uniq) - n_folds * size
    if not _folds_fit(numbers, n_folds, gap, test_eras):
        each = plural(size, "test era") if size else "some test eras"
        narrower = gap_hint() if size >= 1 and first_test >= 1 else ""  # the gap alone
        most = max((n for n in range(1, n_folds) if _folds_fit(numbers, n, gap, test_eras)),
                   default=0)  # fmt: skip
        fit = f" These eras make {plural(most, 'fold')} of that size at most." if most else ""
        raise DataError(
            f"{plural(len(uniq), 'era')} are too few for {plural(n_folds, 'fold')} of {each} "
            f"behind a gap of {plural(gap, 'era')} (purge {purge} + embargo {embargo}); lower "
            f"cv.folds or cv.test_eras{_era_step_hint(era_step)}{narrower}.{fit}"
        )
    folds = []
    window = train_eras
    for k in range(n_folds):
        lo = first_test + k * size
        test = uniq[lo : lo + size]
        fit = uniq[:lo][numbers[:lo] < numbers[lo] - gap]
        if scheme == "walk-forward":
            window = window or len(fit)
            if len(fit) < window:  # the first fold: a shorter window would be expanding
                raise DataError(
                    f"cv.train_eras = {window}, but the first fold has only {len(fit)} eras "
                    f"before its test eras (and the gap of {gap}); set cv.train_eras to "
                    f"{len(fit)} or less (0: the first fold's length), or lower cv.folds."
                )
            fit = fit[-window:]
        folds.append(EraSplit(fit=fit, holdout=test))
    return folds


def _folds_fit(numbers: np.ndarray, n_folds: int, gap: int, test_eras: int) -> bool:
    """Whether sorted era ``numbers`` hold ``n_folds`` test blocks of ``test_eras`` eras (0:
    the later half, split evenly), the first behind ``gap`` eras and some to train on."""
    size = test_eras or len(numbers) // (2 * n_folds)
    first = len(numbers) - n_folds * size
    return size >= 1 and first >= 1 and bool(np.any(numbers[:first] < numbers[first] - gap))


def min_era_distance(fit: np.ndarray, test: np.ndarray) -> int:
    """Smallest distance in era numbers between any fit era and any test era."""
    numbers = era_numbers(np.concatenate([fit, test]))
    a, b = numbers[: len(fit)], numbers[len(fit) :]
    return int(np.min(np.abs(a[:, None] - b[None, :]))) if len(a) and len(b) else 1 << 30
