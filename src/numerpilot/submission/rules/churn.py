"""Signals churn and turnover of a submission against the model's previous ones.

Numerai sets a Signals stake to zero when the submission's maximum churn against the
model's recent submissions reaches 15 % or its maximum turnover 25 %. The figures are
numerai-tools' ``calculate_max_churn_and_turnover``: each submission is joined to its
round's live universe, ranked, and missing tickers filled with 0.5; churn is
1 - Spearman, turnover half the absolute change of the neutralized portfolio weights.
numerpilot knows no neutralizers or sample weights of the live universe (Numerai does
not publish them), so turnover uses equal weights and no neutralizers: an estimate,
while churn is exactly Numerai's definition.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from numerai_tools import signals as nt_signals

from numerpilot.errors import SubmissionError
from numerpilot.submission.rules.signals import id_and_value_columns
from numerpilot.submission.rules.universe import universe_column


class IncomparableError(SubmissionError):
    """A previous submission cannot be compared with this one (another kind of ticker)."""


#: How many of the model's most recent submissions Numerai compares against.
PREVIOUS_SUBMISSIONS = 5


@dataclass(frozen=True)
class Previous:
    """An earlier submission of the model and the live universe of its round."""

    label: str
    frame: pd.DataFrame
    universe: pd.DataFrame


@dataclass(frozen=True)
class ChurnFigures:
    """Maximum churn and turnover against ``compared`` previous submissions (None: none)."""

    churn: float | None
    turnover: float | None
    compared: int

    def breaches(self, max_churn: float, max_turnover: float) -> list[str]:
        """The limits these figures reach (Numerai zeroes the stake at >= the limit)."""
        out = []
        if self.churn is not None and self.churn >= max_churn:
            out.append(f"churn {self.churn:.1%} >= {max_churn:.1%}")
        if self.turnover is not None and self.turnover >= max_turnover:
            out.append(f"turnover {self.turnover:.1%} >= {max_turnover:.1%}")
        return out

    def describe(self) -> str:
        if self.churn is None or self.turnover is None:
            return "churn and turnover: no previous submission of this model to compare with"
        return (f"churn {self.churn:.1%}, turnover {self.turnover:.1%} (max over the last "
                f"{self.compared} submission{'s' * (self.compared != 1)})")  # fmt: skip


def signal_series(frame: pd.DataFrame, names: tuple[str, str] | None = None) -> pd.Series:
    """The submission as a Series of signals indexed by ticker, named like its columns
    (``names``: the index and series names to use instead, the current submission's)."""
    id_col, value_col = id_and_value_columns(frame)
    series = frame.set_index(frame[id_col].astype(str))[value_col].astype(float)
    index_name, name = names or (id_col, value_col)
    series.index.name = index_name
    series.name = name
    return series


def _weights(universe: pd.DataFrame, ticker_col: str) -> tuple[pd.DataFrame, pd.Series]:
    """Equal sample weights and no neutralizers over the universe's ``ticker_col`` ids."""
    ids = pd.Index(universe_column(universe, ticker_col, "signals").unique(), name=ticker_col)
    return pd.DataFrame(index=ids), pd.Series(1.0 / max(len(ids), 1), index=ids)


def max_churn_and_turnover(
    current: pd.DataFrame, universe: pd.DataFrame, previous: list[Previous]
) -> ChurnFigures:
    """numerai-tools' maximum churn and turnover of ``current`` against ``previous``.

    The previous submissions must use the same kind of ticker as the current one."""
    if not previous:
        return ChurnFigures(None, None, 0)
    ticker_col, value_col = id_and_value_columns(current)
    curr = signal_series(current)
    neutralizer, weights = _weights(universe, ticker_col)
    subs, neutralizers, sample_weights = {}, {}, {}
    for prev in previous:
        prev_ticker, _ = id_and_value_columns(prev.frame)
        if prev_ticker != ticker_col:
            raise IncomparableError(
                f"the previous submission {prev.label} uses '{prev_ticker}' tickers and this "
                f"one '{ticker_col}': churn cannot be compared; submit with '{prev_ticker}' "
                "or pass --allow-churn."
            )
        subs[prev.label] = signal_series(prev.frame, (ticker_col, value_col))
        neutralizers[prev.label], sample_weights[prev.label] = _weights(prev.universe, ticker_col)
    try:
        churn, turnover = nt_signals.calculate_max_churn_and_turnover(
            curr, neutralizer, weights, subs, neutralizers, sample_weights
        )
    except AssertionError as error:
        raise SubmissionError(f"churn and turnover cannot be computed ({error})") from None
    compared = len(previous)
    if not (math.isfinite(churn) and math.isfinite(turnover)):
        raise SubmissionError("churn and turnover came out undefined (a constant submission?)")
    return ChurnFigures(float(churn), float(turnover), compared)
