"""Per-era CORR and MMC with Numerai's definitions (numerai-tools applied era by era)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numerai_tools.scoring import correlation_contribution, numerai_corr


@dataclass(frozen=True)
class PerEra:
    """Scores of k prediction columns over E eras: eras (E,) sorted, values (E, k)."""

    eras: np.ndarray
    values: np.ndarray


def _groups(eras: np.ndarray) -> list[tuple[str, np.ndarray]]:
    order = np.argsort(eras, kind="stable")
    uniq, starts = np.unique(eras[order], return_index=True)
    bounds = [*starts[1:], len(order)]
    return [(str(e), order[s:b]) for e, s, b in zip(uniq, starts, bounds, strict=True)]


def per_era_corr(predictions: np.ndarray, target: np.ndarray, eras: np.ndarray) -> PerEra:
    """numerai_corr of each column of ``predictions`` (n, k) per era; NaN targets dropped."""
    preds = np.asarray(predictions, dtype=np.float64).reshape(len(target), -1)
    out_eras, rows = [], []
    for era, idx in _groups(eras):
        keep = idx[~np.isnan(target[idx])]
        if len(keep) < 2:
            continue
        index = pd.RangeIndex(len(keep))
        scores = numerai_corr(pd.DataFrame(preds[keep], index=index), pd.Series(target[keep]))
        out_eras.append(era)
        rows.append(scores.to_numpy())
    return PerEra(np.array(out_eras, dtype=str), np.array(rows).reshape(len(rows), preds.shape[1]))


def per_era_mmc(
    predictions: np.ndarray, meta_model: np.ndarray, target: np.ndarray, eras: np.ndarray
) -> PerEra:
    """MMC (correlation_contribution) per era where the meta model (NaN = absent) covers it."""
    preds = np.asarray(predictions, dtype=np.float64).reshape(len(target), -1)
    out_eras, rows = [], []
    for era, idx in _groups(eras):
        keep = idx[~np.isnan(target[idx]) & ~np.isnan(meta_model[idx])]
        if len(keep) < 2 or len(keep) < 0.8 * len(idx):
            continue
        index = pd.RangeIndex(len(keep))
        scores = correlation_contribution(
            pd.DataFrame(preds[keep], index=index),
            pd.Series(meta_model[keep], index=index),
            pd.Series(target[keep], index=index),
        )
        out_eras.append(era)
        rows.append(scores.to_numpy())
    return PerEra(np.array(out_eras, dtype=str), np.array(rows).reshape(len(rows), preds.shape[1]))
