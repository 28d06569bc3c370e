"""LightGBM training and prediction straight from int8 feature matrices.

LightGBM copies a numpy matrix to float32 before binning (30 GB for all 2748 features of
v5.2 train). Feeding rows through :class:`lightgbm.Sequence` in batches instead keeps the
peak at the int8 matrix plus LightGBM's own binned copy (also ~1 byte per value); only the
bin-edge sample (at most ``BIN_SAMPLE_ROWS`` rows) is handed over as one float32 matrix.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np

from numerpilot.config import LightGBMConfig
from numerpilot.data.layout import without_target_advice
from numerpilot.errors import ConfigError, DataError
from numerpilot.lightgbm_keys import unknown_lightgbm_key
from numerpilot.modeling.cv import EraSplit
from numerpilot.threads import auto_threads
from numerpilot.words import plural

#: Bytes of one float32 row batch pushed to LightGBM (the buffer is reused batch after batch).
_BATCH_BYTES = 64 * 2**20
#: Rows whose values define the bin edges: plenty for Numerai's 5-valued features, and
#: LightGBM gets them as one float32 matrix (20,000 x 2748 features = 220 MB).
BIN_SAMPLE_ROWS = 20_000


class RowsSequence(lgb.Sequence):
    """Selected rows of an int8 matrix, served to LightGBM as float32 batches.

    features: (n, f) int8; rows: (m,) row numbers. A batch is written into one reused
    float32 buffer (LightGBM copies it into its bins before asking for the next), and
    consecutive rows are read as a slice instead of gathered.
    """

    def __init__(self, features: np.ndarray, rows: np.ndarray) -> None:
        self.features = features
        self.rows = rows
        width = max(1, features.shape[1])
        self.batch_size = max(1024, _BATCH_BYTES // (4 * width))
        self._buffer: np.ndarray | None = None

    def __getitem__(self, idx: int | slice | list[int]) -> np.ndarray:
        if isinstance(idx, int | np.integer):  # LightGBM's own row sampling wants float64
            return np.asarray(self.features[self.rows[idx]], dtype=np.float64)
        rows = self.rows[idx]
        if self._buffer is None or len(self._buffer) < len(rows):
            self._buffer = np.empty((len(rows), self.features.shape[1]), dtype=np.float32)
        out = self._buffer[: len(rows)]
        if len(rows) and rows[-1] - rows[0] == len(rows) - 1 and np.all(np.diff(rows) == 1):
            np.copyto(out, self.features[rows[0] : rows[-1] + 1], casting="unsafe")
        else:
            np.copyto(out, self.features[rows], casting="unsafe")
        return out

    def __len__(self) -> int:
        return len(self.rows)

    def release(self) -> None:
        """Drop the batch buffer (up to 64 MB): the rows are binned, a kept set needs no more."""
        self._buffer = None


def bin_reference(
    features: np.ndarray,
    rows: np.ndarray,
    y: np.ndarray,
    feature_names: list[str],
    params: dict[str, Any],
) -> lgb.Dataset:
    """The constructed Dataset of ``rows`` that training sets take their bin edges from.

    Built from one float32 matrix of the rows (LightGBM bins it in C; ``rows`` is at most
    ``BIN_SAMPLE_ROWS`` long, so the float copy stays small). Same bins as a Sequence of
    the rows with ``bin_construct_sample_cnt == len(rows)``: every row is sampled.
    """
    sample = np.asarray(features[rows], dtype=np.float32)
    params = {**params, "bin_construct_sample_cnt": len(rows)}
    bins = lgb.Dataset(sample, label=y[rows], feature_name=feature_names, params=params)
    return bins.construct()


def _bin_sample(rows: np.ndarray) -> np.ndarray:
    """At most BIN_SAMPLE_ROWS of ``rows`` (in order) to define the bin edges: the same for
    every seed, so that the seeds of a member fit on the same rows share one training set."""
    if len(rows) <= BIN_SAMPLE_ROWS:
        return rows
    rng = np.random.default_rng(0)
    return np.sort(rng.choice(rows, size=BIN_SAMPLE_ROWS, replace=False))


@dataclass
class _Built:
    """A constructed training set and what it was built from (see :func:`_training_set`)."""

    features: np.ndarray  # held, so that no other matrix can take its place meanwhile
    rows: np.ndarray
    label: np.ndarray
    params: dict[str, Any]
    dataset: lgb.Dataset


#: Parameters that do not change a training set's bins (threads: chosen per fit by the load).
_NOT_BINNING = ("seed", "num_threads")
#: The last training set built without held-out rows (a refit), for the next seed's refit.
_last: list[_Built] = []


def release_training_set() -> None:
    """Drop the kept training set (and the matrix it holds): when a batch of fits ends."""
    _last.clear()


def _training_set(
    features: np.ndarray, rows: np.ndarray, label: np.ndarray, names: list[str],
    params: dict[str, Any], reuse: bool,
) -> lgb.Dataset:  # fmt: skip
    """The LightGBM training set of ``rows``, binned on a sample of them. With ``reuse``,
    the one built last for the very same matrix, rows, label and binning is taken again:
    a target's seeds are refit on the same rows, and building the set (binning every row)
    can take longer than the trees (LightGBM takes a built set with another seed: the seed
    does not change the bins). Only one set is kept, dropped before another is built and
    when the batch of fits ends (:func:`release_training_set`)."""
    binning = {k: v for k, v in params.items() if k not in _NOT_BINNING}
    if reuse and _last:
        last = _last[0]
        if (last.features is features and last.params == binning
                and np.array_equal(last.rows, rows)
                and np.array_equal(last.label, label, equal_nan=True)):  # fmt: skip
            return last.dataset
    release_training_set()  # its memory is free before the next set is built
    labels = np.zeros(features.shape[0], dtype=np.float32)  # the bins do not depend on them
    bins = bin_reference(features, _bin_sample(rows), labels, names, params)
    rows_in = RowsSequence(features, rows)
    dataset = lgb.Dataset(rows_in, label=label, feature_name=names, params=params,
                          reference=bins).construct()  # fmt: skip
    rows_in.release()
    dataset.reference = None  # the sample's binned set: its edges are copied, not needed
    if reuse:
        _last.append(_Built(features, rows.copy(), label.copy(), binning, dataset))
    return dataset


def lgbm_params(cfg: LightGBMConfig) -> dict[str, Any]:
    """Native ``lightgbm.train`` parameters from the config section. ``extra`` goes first,
    so that the named settings (and each member's seed) always win; the config refuses any
    of their keys or aliases in it anyway (:mod:`numerpilot.lightgbm_keys`)."""
    params: dict[str, Any] = {
        **cfg.extra,
        "objective": "regression",
        "learning_rate": cfg.learning_rate,
        "max_depth": cfg.max_depth,
        "num_leaves": cfg.num_leaves,
        "colsample_bytree": cfg.colsample_bytree,
        "min_data_in_leaf": cfg.min_data_in_leaf,
        "seed": cfg.seed,
        "deterministic": True,
        "force_row_wise": True,
        "verbosity": -1,
    }
    params["num_threads"] = cfg.num_threads or auto_threads()
    return params


@contextlib.contextmanager
def fatal_lines_hidden() -> Iterator[None]:
    """Hide what LightGBM's C++ library writes to stderr in the block: its "[LightGBM]
    [Fatal]" line, which the Python error it raises repeats (one line per failure)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


#: LightGBM parameters (each with its aliases) whose value lists or indexes the features:
#: a tiny fit checks them only on as many features as the models take.
PER_FEATURE_PARAMS = frozenset(
    {
        "monotone_constraints", "monotone_constraint", "monotonic_cst", "mc",
        "feature_contri", "feature_contrib", "fc", "feature_penalty", "fp",
        "max_bin_by_feature", "interaction_constraints", "forcedbins_filename",
        "categorical_feature", "cat_feature", "categorical_column", "cat_column",
        "categorical_features", "ignore_column", "ignore_feature", "blacklist",
        "forcedsplits_filename", "fs", "forced_splits_filename", "forced_splits_file",
        "forced_splits", "cegb_penalty_feature_lazy", "cegb_penalty_feature_coupled",
    }
)  # fmt: skip


def per_feature_keys(params: dict[str, Any]) -> list[str]:
    """The keys of ``params`` whose value depends on the number of features."""
    return [key for key in params if key in PER_FEATURE_PARAMS]


def fit_one_tree(params: dict[str, Any], n_features: int = 2) -> None:
    """One tree on 64 tiny rows of ``n_features`` features with ``params``, quietly:
    raises what LightGBM raises for parameters (or a device) it refuses."""
    x = np.random.default_rng(0).integers(0, 5, size=(64, max(2, n_features))).astype(np.float32)
    trial = {**params, "num_iterations": 1, "num_threads": 1, "verbosity": -1}
    label = x[:, 0] / 4  # in [0, 1] as Numerai's targets: objectives judge labels
    with fatal_lines_hidden():
        lgb.train(trial, lgb.Dataset(x, label=label, params={"verbosity": -1}))


def _per_feature_hint(keys: list[str], n_features: int) -> str:
    """What a per-feature parameter must match: the models' features, in order."""
    return (f"{', '.join(keys)} must refer to the models' {plural(n_features, 'feature')}, "
            "in the order of the feature set")  # fmt: skip


def check_params(params: dict[str, Any], n_features: int | None = None) -> None:
    """Refuse parameters LightGBM rejects (a bad ``[lightgbm] extra`` value, a device this
    build lacks) with a ConfigError, by fitting one tree on a tiny sample before any work.

    Parameters per feature (:data:`PER_FEATURE_PARAMS`) are checked only when
    ``n_features``, the models' number of features, is given; without it they are left
    out of the trial (``train_target`` checks them on its features before fitting)."""
    unknown = unknown_lightgbm_key(params)
    if unknown:
        raise ConfigError(f"[lightgbm] extra: {unknown}")
    trial = params
    if n_features is None:
        trial = {k: v for k, v in params.items() if k not in PER_FEATURE_PARAMS}
    try:
        fit_one_tree(trial, 2 if n_features is None else n_features)
    except (lgb.basic.LightGBMError, ValueError, TypeError) as error:
        said = re.sub(r"\s+at \S+, line \d+\s*\.?", "", " ".join(str(error).split()))
        keys = per_feature_keys(params) if n_features is not None else []
        match = f" ({_per_feature_hint(keys, n_features or 0)})" if keys else ""
        raise ConfigError(  # said without the C++ source file of LightGBM's build machine
            f"LightGBM refuses the [lightgbm] settings of numerpilot.toml: {said.rstrip('.')}"
            f"{match}. Fix that value (a key of [lightgbm], or of its extra table)."
        ) from None


@dataclass(frozen=True)
class TrainedModel:
    target: str
    booster: lgb.Booster
    best_iteration: int
    holdout_score: float | None
    #: The holdout score after every round (empty without a holdout).
    curve: tuple[float, ...] = ()


def train_target(
    features: np.ndarray,
    y: np.ndarray,
    eras: np.ndarray,
    *,
    target: str,
    feature_names: list[str],
    cfg: LightGBMConfig,
    split: EraSplit | None,
    early_stopping_rounds: int = 0,
    on_iteration: Callable[[int], None] = lambda steps: None,
    on_score: Callable[[float], None] | None = None,
    keep_all_rounds: bool = False,
) -> TrainedModel:
    """Fit one booster on rows with a known ``y``; early-stop on ``split.holdout`` eras.

    features: (n, f) int8; y: (n,) float with NaN for unknown; eras: (n,) str. After early
    stopping, the booster holds the rounds up to its best, or (``keep_all_rounds``) every
    round fitted.
    """
    known = ~np.isnan(y)
    fit_rows = np.flatnonzero(known & (np.isin(eras, split.fit) if split else True))
    if len(fit_rows) == 0:
        raise DataError(f"target '{target}' has no known values in the training eras; "
                        f"{without_target_advice(target)}.")  # fmt: skip
    # Bin edges come from a small sample Dataset; the training set copies them instead of
    # letting LightGBM sample float64 rows in proportion to the data.
    hold_rows = np.flatnonzero(known & np.isin(eras, split.holdout)) if split else fit_rows[:0]
    params = {**lgbm_params(cfg), "bin_construct_sample_cnt": min(len(fit_rows), BIN_SAMPLE_ROWS)}
    if per_feature_keys(params):  # refused in one line here, not by LightGBM mid-fit
        check_params(params, features.shape[1])
    train_set = _training_set(features, fit_rows, y[fit_rows], feature_names, params,
                              reuse=not len(hold_rows))  # fmt: skip
    valid_sets, callbacks = [], [lambda env: on_iteration(1)]
    feval = None
    if len(hold_rows):
        params["metric"] = "None"
        feval = era_corr_metric(eras[hold_rows])
        valid_sets.append(
            lgb.Dataset(RowsSequence(features, hold_rows), label=y[hold_rows], reference=train_set)
        )
        if early_stopping_rounds:
            callbacks.append(SmoothedEarlyStopping(early_stopping_rounds))
    evals: dict[str, Any] = {}
    if valid_sets:
        callbacks.append(lgb.record_evaluation(evals))
    if valid_sets and on_score is not None:  # the holdout score of each round, as it comes
        callbacks.append(lambda env: on_score(float(env.evaluation_result_list[0][2])))
    booster = lgb.train(
        params, train_set, num_boost_round=cfg.n_estimators, valid_sets=valid_sets,
        valid_names=["holdout"][: len(valid_sets)], callbacks=callbacks, feval=feval,
        keep_training_booster=keep_all_rounds,
    )  # fmt: skip
    best = booster.best_iteration or booster.current_iteration()
    score: float | None = None
    curve: tuple[float, ...] = ()
    if evals:
        curve = tuple(float(v) for v in next(iter(evals["holdout"].values())))
        score = curve[best - 1]
    return TrainedModel(target, booster, int(best), score, curve)


def predict_rows(
    booster: lgb.Booster, features: np.ndarray, rows: np.ndarray, trees: int
) -> np.ndarray:
    """Predictions (len(rows),) of the first ``trees`` trees for rows of an int8 matrix,
    converted to float32 a batch at a time."""
    out = np.empty(len(rows))
    size = max(1024, _BATCH_BYTES // (4 * features.shape[1]))
    for start in range(0, len(rows), size):
        batch = np.asarray(features[rows[start : start + size]], dtype=np.float32)
        out[start : start + len(batch)] = booster.predict(batch, num_iteration=trees)
    return out


class SmoothedRule:
    """Stop when the moving average of the holdout score has not improved for ``patience`` rounds.

    Per-era correlation on a few holdout eras is noisy; plain early stopping latches onto
    an early spike. Smoothing over ``window`` rounds (default ``patience // 4``) picks the
    round count where the score is high and stays high. The rule of LightGBM's and
    XGBoost's members alike (:class:`SmoothedEarlyStopping`, ``xgb``'s callback).
    """

    def __init__(self, patience: int, window: int | None = None) -> None:
        self.patience = patience
        self.window = window or max(5, patience // 4)
        self.history: list[float] = []
        self.best_score = -np.inf
        self.best_iteration = 0

    def update(self, score: float, end: int) -> bool:
        """Take the score of the next round (of ``end`` rounds at most); True: stop now."""
        self.history.append(score)
        i = len(self.history)
        smoothed = float(np.mean(self.history[-self.window :]))
        if i >= min(self.window, end) and smoothed > self.best_score:
            # The window's centre is the round that the smoothed score speaks for.
            self.best_score, self.best_iteration = smoothed, max(1, i - self.window // 2)
        return i - self.best_iteration >= self.patience or i == end


class SmoothedEarlyStopping:
    """:class:`SmoothedRule` as a LightGBM callback."""

    def __init__(self, patience: int, window: int | None = None) -> None:
        # After record_evaluation (order 20), so the curve holds the round it stops at. An
        # instance attribute: lgb.train gives any callback without one a negative order.
        self.order = 30
        self.rule = SmoothedRule(patience, window)

    def __call__(self, env: Any) -> None:
        rule = self.rule
        if rule.update(float(env.evaluation_result_list[0][2]), env.end_iteration):
            raise lgb.callback.EarlyStopException(
                rule.best_iteration - 1, [("holdout", "era_corr", rule.best_score, True)]
            )


def mean_era_corr(pred: np.ndarray, y: np.ndarray, codes: np.ndarray) -> float:
    """Mean over eras of the Pearson correlation of ``pred`` and ``y`` (all (n,))."""
    n = np.bincount(codes).astype(np.float64)
    p = pred - (np.bincount(codes, pred) / n)[codes]
    t = y - (np.bincount(codes, y) / n)[codes]
    cov = np.bincount(codes, p * t)
    var = np.sqrt(np.bincount(codes, p * p) * np.bincount(codes, t * t))
    valid = var > 0
    return float(np.mean(cov[valid] / var[valid])) if valid.any() else 0.0


def era_corr_metric(
    eras: np.ndarray,
) -> Callable[[np.ndarray, lgb.Dataset], tuple[str, float, bool]]:
    """A LightGBM ``feval``: mean per-era correlation on the holdout (higher is better)."""
    codes = np.unique(eras, return_inverse=True)[1].reshape(-1)

    def metric(pred: np.ndarray, data: lgb.Dataset) -> tuple[str, float, bool]:
        y = np.asarray(data.get_label(), dtype=np.float64)
        return "era_corr", mean_era_corr(np.asarray(pred, dtype=np.float64), y, codes), True

    return metric
