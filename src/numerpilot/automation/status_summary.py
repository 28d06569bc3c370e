"""The scores summary of ``status``: per model, the rounds shown as ``validate`` sums up
eras (CORR mean, sharpe, max drawdown), MMC mean and the payout estimates summed; the
terminal and the page show the same cells."""

from __future__ import annotations

import math

import numpy as np

from numerpilot.automation.status import ModelStatus, StatusReport
from numerpilot.scoring.report import format_metric
from numerpilot.scoring.summary import summarize

#: The columns of the scores summary of the rounds shown, one row per model.
SUMMARY_COLUMNS = ("model", "rounds scored", "CORR mean", "CORR sharpe", "CORR max drawdown",
                   "MMC mean", "payout / stake, sum")  # fmt: skip


def summary_cells(model: ModelStatus) -> list[str]:
    """One model's row of the scores summary (the cells of :data:`SUMMARY_COLUMNS`, as the
    terminal and the page both show them): its rounds that have a CORR, oldest first, as
    ``validate`` summarises eras; the payout estimates summed over its staked rounds."""
    corr = np.array([r.corr for r in reversed(model.rounds) if r.corr is not None], dtype=float)
    mmc = [r.mmc for r in model.rounds if r.mmc is not None]
    payouts = [r.payout for r in model.rounds if r.payout is not None]
    stats = summarize(corr)
    return [
        model.name,
        str(len(corr)),
        signed(stats["mean"]),
        format_metric("corr_sharpe", stats["sharpe"]),
        format_metric("corr_max_drawdown", stats["max_drawdown"]),
        signed(sum(mmc) / len(mmc) if mmc else None),
        signed(sum(payouts) if payouts else None),
    ]


def rounds_shown(report: StatusReport) -> str:
    """``last 10 rounds``: the rounds the tables show."""
    n = max((len(m.rounds) for m in report.models), default=0)
    return "last round" if n == 1 else f"last {n} rounds"


def has_scores(report: StatusReport) -> bool:
    """Whether any model shown has a scored round (else no summary: a row of dashes)."""
    return any(r.corr is not None for m in report.models for r in m.rounds)


def signed(value: float | None) -> str:
    """``+0.0123``; ``–`` for none (or NaN)."""
    return "–" if value is None or not math.isfinite(value) else f"{value:+.4f}"
