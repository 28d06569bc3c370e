"""The live universe of Signals and Crypto, and the id checks both tournaments share.

A universe is a frame with one column per id kind Numerai accepts (Signals:
``numerai_ticker``, ``composite_figi``, ...; Crypto: ``symbol``), one row per id of the
round's live universe. numerai-tools' ``validate_submission_signals``/``_crypto`` is the
reference; these helpers only turn its terse assertions into a line that says what to do.
"""

from __future__ import annotations

import pandas as pd

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


def outside_universe(frame: pd.DataFrame, id_col: str, live: pd.Series) -> list[str]:
    """Ids of the submission that are not in the live universe (Numerai ignores them)."""
    ids = frame[id_col].dropna().astype(str)
    return sorted(set(ids) - set(live))
