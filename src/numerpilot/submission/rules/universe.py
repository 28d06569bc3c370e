"""Id checks shared by the Signals and Crypto rules."""

from __future__ import annotations

import pandas as pd
from numerai_tools.submissions import validate_values


def check_ids(frame: pd.DataFrame, pred_col: str, minimum: int) -> None:
    """No missing or duplicate ids, at least ``minimum`` of them, valid values
    (raises AssertionError with numerai-tools' message style)."""
    ids = frame[frame.columns[0]]
    assert not ids.isna().any(), "invalid_submission_ids: ids must not be NaN"
    assert not ids.duplicated().any(), "invalid_submission_ids: duplicate ids"
    assert len(frame) >= minimum, f"invalid_submission_ids: fewer than {minimum} ids"
    validate_values(frame, pred_col)
