"""Classic: exactly ``id`` + ``prediction``, every live id, no NaN, within [0, 1], not constant."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numerai_tools.submissions import validate_submission_numerai

from numerpilot.errors import SubmissionError
from numerpilot.submission.rules.universe import other_tournament


def check(frame: pd.DataFrame, universe: pd.Series | pd.DataFrame | None) -> None:
    """numerai-tools' ``validate_submission_numerai`` against the live ids ``universe``."""
    if isinstance(universe, pd.DataFrame):
        universe = universe[universe.columns[0]]
    if universe is None:
        raise SubmissionError("no live ids to check the Classic submission against.")
    try:
        validate_submission_numerai(universe, frame)
    except AssertionError as error:
        hint = other_tournament(frame, "classic")  # a Signals or Crypto file, say
        raise SubmissionError(
            f"the submission breaks Numerai's Classic rules: {error}{hint}"
        ) from None


def check_predictions(ids: np.ndarray, predictions: np.ndarray, live_ids: np.ndarray) -> None:
    """The rules for predictions (n,) of ``ids`` (n,) against the live ids."""
    check(pd.DataFrame({"id": ids, "prediction": predictions}), pd.Series(live_ids))
