"""Numerai's submission rules, one module per tournament; numerai-tools is the reference.

Every check raises :class:`~numerpilot.errors.SubmissionError` saying which rule failed.
``predict``, ``submit`` and the model-upload check all come through here.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from numerpilot.errors import DataError, SubmissionError
from numerpilot.submission.rules import classic, crypto, signals

CHECKS = {"classic": classic.check, "signals": signals.check, "crypto": crypto.check}


def read_submission(path: Path) -> pd.DataFrame:
    """A submission file (CSV or parquet) as a frame with its columns as written."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path} does not exist: run 'numerpilot predict' first.")
    try:
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            return frame.reset_index() if frame.index.name else frame
        return pd.read_csv(path)
    except Exception as error:  # pandas/pyarrow raise many unrelated types
        raise DataError(f"{path} is not a readable CSV or parquet file ({error}).") from None


def check_frame(frame: pd.DataFrame, tournament: str, universe: pd.Series | None) -> None:
    """Apply the tournament's rules to a submission frame (``universe``: the live ids)."""
    CHECKS[tournament](frame.copy(), universe)


def check_file(path: Path, tournament: str, universe: pd.Series | None) -> None:
    """Apply the tournament's rules to a submission file (the error names the file)."""
    try:
        check_frame(read_submission(path), tournament, universe)
    except SubmissionError as error:
        raise SubmissionError(
            f"{Path(path).name}: {error}. Re-create it with 'numerpilot predict'."
        ) from None
