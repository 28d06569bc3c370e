"""Signals: one ticker column, one ``prediction``/``signal`` column, an optional date column;
at least 100 distinct tickers of the live universe, no NaN, values within [0, 1].

The decision is numerai-tools' ``validate_submission_signals`` against the live universe
(a frame with a column per ticker kind); numerpilot adds the counts to its message.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import pandas as pd
from numerai_tools import submissions as nt

from numerpilot.errors import SubmissionError
from numerpilot.submission.rules.universe import (
    describe_failure,
    other_tournament,
    universe_column,
    warn_outside,
)

log = logging.getLogger(__name__)
TOURNAMENT = "signals"


def id_and_value_columns(frame: pd.DataFrame) -> tuple[str, str]:
    """The ticker and signal columns by numerai-tools' header rule (date column ignored)."""
    headers = frame.drop(columns=["data_type"], errors="ignore").copy()
    ticker_col, signal_col, _ = nt.validate_headers_signals(headers)
    return str(ticker_col), str(signal_col)


@contextlib.contextmanager
def _quiet(logger: logging.Logger) -> Iterator[None]:
    """``logger`` silent inside the block (a refusal is then the only line printed)."""
    disabled, logger.disabled = logger.disabled, True
    try:
        yield
    finally:
        logger.disabled = disabled


def check(frame: pd.DataFrame, universe: pd.Series | pd.DataFrame | None) -> None:
    """Refuse what ``validate_submission_signals(universe, frame)`` refuses."""
    if universe is None or isinstance(universe, pd.Series):
        raise SubmissionError("no live Signals universe to check the submission against")
    try:
        ticker_col, signal_col = id_and_value_columns(frame)
    except AssertionError as error:
        raise SubmissionError(
            f"the submission breaks Numerai's Signals rules: {error}, plus an optional date "
            f"column ({' or '.join(nt.SIGNALS_ALLOWED_DATE_COLS)})"
            f"{other_tournament(frame, TOURNAMENT)}"
        ) from None
    live = universe_column(universe, ticker_col, TOURNAMENT, frame[ticker_col])
    try:
        with _quiet(logging.getLogger(nt.__name__)):  # its data_type warning: said below
            nt.validate_submission_signals(universe, frame.copy())
    except AssertionError as error:
        why = describe_failure(error, frame, ticker_col, signal_col, live, nt.SIGNALS_MIN_TICKERS)
        raise SubmissionError(f"the submission breaks Numerai's Signals rules: {why}") from None
    if "data_type" in frame.columns:
        log.warning("the data_type column is deprecated by Numerai, which will stop accepting "
                    "it: leave it out of your Signals files")  # fmt: skip
    warn_outside(frame, ticker_col, live, "ticker")
