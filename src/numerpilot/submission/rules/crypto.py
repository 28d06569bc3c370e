"""Crypto: ``symbol`` + ``signal``/``prediction``, >= 100 unique symbols."""

from __future__ import annotations

import pandas as pd
from numerai_tools import submissions as nt

from numerpilot.errors import SubmissionError
from numerpilot.submission.rules.universe import check_ids


def check(frame: pd.DataFrame, universe: pd.Series | None) -> None:
    """Headers, ids and values by numerai-tools' Crypto rules."""
    try:
        _, pred_col = nt.validate_headers_crypto(frame)
        check_ids(frame, pred_col, nt.CRYPTO_MIN_TICKERS)
    except AssertionError as error:
        raise SubmissionError(f"the submission breaks Numerai's Crypto rules: {error}") from None
