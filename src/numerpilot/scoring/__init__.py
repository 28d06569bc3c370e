"""Numerai's metrics, per era: CORR, MMC, neutralization and summaries."""

from numerpilot.scoring.neutralize import neutralize_by_era
from numerpilot.scoring.per_era import PerEra, per_era_corr, per_era_mmc
from numerpilot.scoring.summary import summarize

__all__ = ["PerEra", "neutralize_by_era", "per_era_corr", "per_era_mmc", "summarize"]
