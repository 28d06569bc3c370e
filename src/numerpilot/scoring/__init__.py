"""Numerai's metrics per era, vectorised: CORR, MMC, BMC, FNC, exposure, summaries, payout.

Every per-era number equals numerai-tools applied era by era within 1e-9.
"""

from numerpilot.kernel.eras import EraIndex
from numerpilot.kernel.neutralize import neutralize_by_era
from numerpilot.scoring.fnc import FeatureScores, feature_scores
from numerpilot.scoring.per_era import (
    MetaScores,
    PerEra,
    per_era_corr,
    per_era_corr_mmc,
    per_era_meta_scores,
    per_era_mmc,
    per_era_rank_corr,
)
from numerpilot.scoring.report import ScoreReport, score_frame
from numerpilot.scoring.summary import autocorrelation, max_drawdown, payout, summarize

__all__ = [
    "EraIndex",
    "FeatureScores",
    "MetaScores",
    "PerEra",
    "ScoreReport",
    "autocorrelation",
    "feature_scores",
    "max_drawdown",
    "neutralize_by_era",
    "payout",
    "per_era_corr",
    "per_era_corr_mmc",
    "per_era_meta_scores",
    "per_era_mmc",
    "per_era_rank_corr",
    "score_frame",
    "summarize",
]
