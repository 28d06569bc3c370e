"""Signals: one ticker column, one ``signal``/``prediction`` column, >= 100 unique tickers."""

from __future__ import annotations

import pandas as pd
from numerai_tools import submissions as nt

from numerpilot.errors import SubmissionError
from numerpilot.submission.rules.universe import check_ids


def check(frame: pd.DataFrame, universe: pd.Series | None) -> None:
    """Headers, ids and values by numerai-tools' Signals rules."""
    try:
        _, pred_col, _ = nt.validate_headers_signals(frame)
        check_ids(frame, pred_col, nt.SIGNALS_MIN_TICKERS)
    except AssertionError as error:
        raise SubmissionError(f"the submission breaks Numerai's Signals rules: {error}") from None
