"""One member fitted by the configured backend, returned as portable model text.

Every backend trains from the int8 feature matrix in batches and hands back the model as
text cut at its best iteration: what a bundle stores, what a model-upload pickle carries
and what a Dask worker sends back (plain data, identical wherever it was fitted).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from numerpilot.config import Config
from numerpilot.modeling.cv import EraSplit
from numerpilot.modeling.members import Member
from numerpilot.progress import Scored
from numerpilot.threads import auto_threads


@dataclass(frozen=True)
class FittedMember:
    """A fitted member: model text (best iteration only), its trees and holdout score,
    and the holdout score after every round (``curve``, empty without a holdout)."""

    name: str
    target: str
    backend: str
    model_text: str
    best_iteration: int
    holdout_score: float | None
    curve: tuple[float, ...] = ()


def resolved(cfg: Config) -> Config:
    """``cfg`` with the thread count fixed, so a member fitted elsewhere (a Dask worker
    with other cores) builds the very same trees."""
    threads = cfg.lightgbm.num_threads or auto_threads()
    return cfg.model_copy(
        update={"lightgbm": cfg.lightgbm.model_copy(update={"num_threads": threads})}
    )


def era_sample(eras: np.ndarray, seed: int, share: float) -> np.ndarray:
    """The ``ceil(share * E)`` of the distinct ``eras`` (E,) a member of ``seed`` fits on,
    sorted: those whose hash with the seed is smallest.

    A hash rather than a random generator makes the choice depend on the era labels only,
    never on their order or the process: the same eras here and on any Dask worker, and
    nested from one era set to a larger one (a fold's sample is mostly in the refit's).
    """
    eras = np.unique(eras)
    if share >= 1 or len(eras) == 0:
        return eras
    keys = np.array([
        int.from_bytes(hashlib.blake2b(f"{seed}:{e}".encode(), digest_size=8).digest())
        for e in eras
    ], dtype=np.uint64)  # fmt: skip
    kept = np.argsort(keys, kind="stable")[: max(1, math.ceil(share * len(eras)))]
    return np.sort(eras[kept])


def member_split(split: EraSplit, seed: int, share: float) -> EraSplit:
    """``split`` with the fit eras a member of ``seed`` samples (``model.era_sample``);
    the held-out eras stay whole, so every seed is scored on the same rows."""
    if share >= 1:
        return split
    return EraSplit(fit=era_sample(split.fit, seed, share), holdout=split.holdout)


def fit_member(
    features: np.ndarray,
    y: np.ndarray,
    eras: np.ndarray,
    *,
    member: Member,
    feature_names: list[str],
    cfg: Config,
    split: EraSplit | None,
    early_stopping_rounds: int,
    on_progress: Scored = lambda steps, score: None,
    keep_all_rounds: bool = False,
) -> FittedMember:
    """Fit ``member`` on the rows of ``split.fit`` eras; early-stop on ``split.holdout``.

    features (n, f) int8, y (n,) float with NaN, eras (n,) str. ``on_progress`` hears of
    every tree and of the holdout score as it changes. With ``model.era_sample`` below 1
    the member fits on its seed's share of the ``split.fit`` eras only (whole eras). The
    model text holds the rounds up to the best iteration, or (``keep_all_rounds``) every
    round fitted before stopping.
    """
    if cfg.model.era_sample < 1:
        whole = split or EraSplit(fit=np.unique(eras), holdout=np.unique(eras)[:0])
        split = member_split(whole, member.seed, cfg.model.era_sample)
    if cfg.model.backend == "xgboost":
        from numerpilot.modeling.xgb import fit_xgboost

        return fit_xgboost(
            features, y, eras, member=member, feature_names=feature_names, cfg=cfg,
            split=split, early_stopping_rounds=early_stopping_rounds, on_progress=on_progress,
            keep_all_rounds=keep_all_rounds,
        )  # fmt: skip
    from numerpilot.modeling.lgbm import train_target

    lgb_cfg = cfg.lightgbm.model_copy(update={"seed": member.seed})
    if cfg.model.device == "gpu":
        from numerpilot.modeling.devices import lightgbm_gpu_params

        lgb_cfg = lgb_cfg.model_copy(update={"extra": {**lgb_cfg.extra, **lightgbm_gpu_params()}})
    model = train_target(
        features, y, eras, target=member.target, feature_names=feature_names, cfg=lgb_cfg,
        split=split, early_stopping_rounds=early_stopping_rounds,
        on_iteration=lambda steps: on_progress(steps, None),
        on_score=lambda score: on_progress(0, score), keep_all_rounds=keep_all_rounds,
    )  # fmt: skip
    last = -1 if keep_all_rounds else model.best_iteration
    text = model.booster.model_to_string(num_iteration=last)
    return FittedMember(
        member.name, member.target, "lightgbm", text, model.best_iteration,
        model.holdout_score, model.curve,
    )  # fmt: skip


def predict_fitted(
    fitted: FittedMember, features: np.ndarray, rows: np.ndarray, trees: int
) -> np.ndarray:
    """Predictions (len(rows),) of the first ``trees`` trees of a fitted member for rows
    of an int8 matrix (n, f): what held-out eras are scored and weighted with."""
    if fitted.backend == "xgboost":
        from numerpilot.modeling.xgb import predict_xgboost

        return predict_xgboost(fitted.model_text, features, rows, trees)
    import lightgbm as lgb

    from numerpilot.modeling.lgbm import predict_rows

    return predict_rows(lgb.Booster(model_str=fitted.model_text), features, rows, trees)
