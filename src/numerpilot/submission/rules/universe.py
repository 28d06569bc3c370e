"""The live universe of Signals and Crypto, and the wording of their refusals.

A universe is a frame with one column per id kind Numerai accepts (Signals:
``numerai_ticker``, ``composite_figi``, ...; Crypto: ``symbol``), one row per id of the
round's live universe. numerai-tools' ``validate_submission_signals``/``_crypto`` is the
reference; these helpers only turn its terse assertions into a line that says what to do.
"""

from __future__ import annotations

import pandas as pd
from numerai_tools import submissions as nt

from numerpilot.errors import SubmissionError


def universe_column(universe: pd.DataFrame, column: str, tournament: str) -> pd.Series:
    """The universe's ids of kind ``column`` (refused when the universe lacks that kind)."""
    if column not in universe.columns:
        kinds = ", ".join(str(c) for c in universe.columns) or "none"
        raise SubmissionError(
            f"the live {tournament} universe has no '{column}' ids (it has: {kinds}); "
            "use one of those as the id column"
        )
    return universe[column].dropna().astype(str)


def describe_ids(frame: pd.DataFrame, id_col: str, live: pd.Series, minimum: int) -> str:
    """Counts behind an id failure: how many ids are in the universe, duplicated, NaN."""
    ids = frame[id_col]
    inside = ids[ids.astype(str).isin(set(live))]
    parts = [f"{inside.nunique()} distinct of the {len(live)} live ids (at least {minimum} needed)"]
    if ids.isna().any():
        parts.append(f"{int(ids.isna().sum())} empty ids")
    dupes = inside[inside.duplicated()].astype(str).unique()
    if len(dupes):
        parts.append(f"{len(dupes)} duplicated, e.g. {dupes[0]!r}")
    outside = int((~ids.astype(str).isin(set(live)) & ids.notna()).sum())
    if outside:
        parts.append(f"{outside} outside the live universe")
    return "; ".join(parts)


def describe_failure(
    error: AssertionError,
    frame: pd.DataFrame,
    id_col: str,
    value_col: str,
    live: pd.Series,
    minimum: int,
) -> str:
    """numerai-tools' message plus the figures behind it (ids or values)."""
    if "invalid_submission_ids" in str(error):
        return f"{error} ({describe_ids(frame, id_col, live, minimum)})"
    if "invalid_submission_values" in str(error):
        return f"{error} ({describe_values(frame, id_col, value_col, live)})"
    return str(error)


def describe_values(frame: pd.DataFrame, id_col: str, value_col: str, live: pd.Series) -> str:
    """Counts behind a value failure, over the ids in the universe (what Numerai checks)."""
    inside = frame[frame[id_col].astype(str).isin(set(live))]
    values = pd.to_numeric(inside[value_col], errors="coerce")
    parts = []
    nan = values.isna()
    if nan.any():
        parts.append(f"{int(nan.sum())} empty, e.g. for {str(inside[id_col][nan].iloc[0])!r}")
    off = (values < 0) | (values > 1)
    if off.any():
        parts.append(f"{int(off.sum())} outside [0, 1], e.g. {float(values[off].iloc[0])!r}")
    if not parts:
        parts.append(f"all {len(values)} values equal {float(values.iloc[0])!r}" if
                     values.nunique() == 1 else "values nearly constant")  # fmt: skip
    return "; ".join(parts)


def other_tournament(frame: pd.DataFrame, tournament: str) -> str:
    """A hint when the headers are another tournament's (``""`` otherwise)."""
    columns = [c for c in frame.columns if c not in ("date", "friday_date", "data_type")]
    if len(columns) != 2:
        return ""
    kinds = {
        "classic": (nt.NUMERAI_ALLOWED_ID_COLS, nt.NUMERAI_ALLOWED_PRED_COLS),
        "signals": (nt.SIGNALS_ALLOWED_ID_COLS, nt.SIGNALS_ALLOWED_PRED_COLS),
        "crypto": (nt.CRYPTO_ALLOWED_ID_COLS, nt.CRYPTO_ALLOWED_PRED_COLS),
    }
    for name, (ids, values) in kinds.items():
        if name != tournament and columns[0] in ids and columns[1] in values:
            return (f"; this is a {name.capitalize()} file: check [submission] tournament "
                    f"(now {tournament!r})")  # fmt: skip
    return ""


def outside_universe(frame: pd.DataFrame, id_col: str, live: pd.Series) -> list[str]:
    """Ids of the submission that are not in the live universe (Numerai ignores them)."""
    ids = frame[id_col].dropna().astype(str)
    return sorted(set(ids) - set(live))
