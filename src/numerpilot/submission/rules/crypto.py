"""Crypto: exactly ``symbol`` + ``prediction``/``signal``; at least 100 distinct symbols of the
live universe, no NaN, values within [0, 1].

The decision is numerai-tools' ``validate_submission_crypto`` against the live universe
(a frame with a ``symbol`` column); numerpilot adds the counts to its message.
"""

from __future__ import annotations

import pandas as pd
from numerai_tools import submissions as nt

from numerpilot.errors import SubmissionError
from numerpilot.submission.rules.universe import (
    describe_failure,
    other_tournament,
    universe_column,
    warn_outside,
)

TOURNAMENT = "crypto"


def check(frame: pd.DataFrame, universe: pd.Series | pd.DataFrame | None) -> None:
    """Refuse what ``validate_submission_crypto(universe, frame)`` refuses."""
    if universe is None or isinstance(universe, pd.Series):
        raise SubmissionError("no live Crypto universe to check the submission against")
    try:
        id_col, value_col = nt.validate_headers_crypto(frame.copy())
    except AssertionError as error:
        raise SubmissionError(
            f"the submission breaks Numerai's Crypto rules: {error}"
            f"{other_tournament(frame, TOURNAMENT)}"
        ) from None
    live = universe_column(universe, str(id_col), TOURNAMENT, frame[id_col])
    try:
        nt.validate_submission_crypto(universe, frame.copy())
    except AssertionError as error:
        why = describe_failure(error, frame, str(id_col), str(value_col), live,
                               nt.CRYPTO_MIN_TICKERS)  # fmt: skip
        raise SubmissionError(f"the submission breaks Numerai's Crypto rules: {why}") from None
    warn_outside(frame, str(id_col), live, "symbol")
