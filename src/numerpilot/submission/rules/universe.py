"""The live universe of Signals and Crypto, and the wording of their refusals.

A universe is a frame with one column per id kind Numerai accepts (Signals:
``numerai_ticker``, ``composite_figi``, ...; Crypto: ``symbol``), one row per id of the
round's live universe. numerai-tools' ``validate_submission_signals``/``_crypto`` is the
reference; these helpers only turn its terse assertions into a line that says what to do.
"""

from __future__ import annotations

import logging

import pandas as pd
from numerai_tools import submissions as nt

from numerpilot.errors import SubmissionError
from numerpilot.words import plural

log = logging.getLogger(__name__)

#: Each tournament's id and value columns (numerai-tools' lists).
KINDS = {
    "classic": (nt.NUMERAI_ALLOWED_ID_COLS, nt.NUMERAI_ALLOWED_PRED_COLS),
    "signals": (nt.SIGNALS_ALLOWED_ID_COLS, nt.SIGNALS_ALLOWED_PRED_COLS),
    "crypto": (nt.CRYPTO_ALLOWED_ID_COLS, nt.CRYPTO_ALLOWED_PRED_COLS),
}
#: Columns a file may carry beside its id and value columns.
OPTIONAL = {"signals": (*nt.SIGNALS_ALLOWED_DATE_COLS, "data_type")}


def universe_column(
    universe: pd.DataFrame, column: str, tournament: str, ids: pd.Series | None = None
) -> pd.Series:
    """The universe's ids of kind ``column``, refused when the universe lacks that kind
    (``ids``, the file's: named when they are another kind the universe has)."""
    if column not in universe.columns:
        raise SubmissionError(_missing_kind(universe, column, tournament, ids))
    return universe[column].dropna().astype(str)


def _missing_kind(
    universe: pd.DataFrame, column: str, tournament: str, ids: pd.Series | None
) -> str:
    """Why a file of id kind ``column`` cannot be checked, and what to write instead: the
    universe's kind its ids are (renaming the column is enough), else an example of each."""
    kinds = [str(c) for c in universe.columns]
    head = f"the live {tournament} universe has no '{column}' ids (it has: {', '.join(kinds)})"
    mine = set(ids.dropna().astype(str)) if ids is not None else set()
    for kind in kinds:
        known = mine & set(universe[kind].dropna().astype(str))
        if len(known) >= len(mine) / 2 > 0:
            return (f"{head}; {len(known)} of the file's {len(mine)} ids are live {kind} ids, "
                    f"e.g. {sorted(known)[0]!r}: name the column '{kind}'")  # fmt: skip
    examples = ", ".join(
        f"{kind} like {first!r}" for kind in kinds if (first := _first_id(universe[kind]))
    )
    where = f" ({examples}; the round's live file holds every kind for each stock)"
    return (
        f"{head}, so its ids cannot be checked here, nor churn measured, though Numerai "
        f"accepts '{column}' files: map your ids to one of those kinds{where if examples else ''}"
        " and use it as the id column"
    )


#: What a missing id reads as once the universe file's ids are text (``astype(str)``).
_NOT_IDS = frozenset({"", "None", "nan", "NaN", "<NA>", "NaT"})


def _first_id(ids: pd.Series) -> str | None:
    """The column's first real id (not a missing one, even written as text), if any."""
    return next((text for text in ids.dropna().astype(str) if text not in _NOT_IDS), None)


def describe_ids(frame: pd.DataFrame, id_col: str, live: pd.Series, minimum: int) -> str:
    """Counts behind an id failure: how many ids are in the universe, duplicated, NaN."""
    ids = frame[id_col]
    inside = ids[ids.astype(str).isin(set(live))]
    parts = [f"{inside.nunique()} distinct of the {len(live)} live ids (at least {minimum} needed)"]
    if ids.isna().any():
        parts.append(f"{int(ids.isna().sum())} empty ids")
    dupes = inside[inside.duplicated()].astype(str).unique()
    if len(dupes):
        parts.append(f"{len(dupes)} duplicated, e.g. {dupes[0]!r}{_several_dates(frame)}")
    outside = int((~ids.astype(str).isin(set(live)) & ids.notna()).sum())
    if outside:
        parts.append(f"{outside} outside the live universe{near_misses(frame, id_col, live)}")
    return "; ".join(parts)


def _several_dates(frame: pd.DataFrame) -> str:
    """Why ids repeat when the file holds rows of several dates ("" otherwise)."""
    for column in ("data_type", *nt.SIGNALS_ALLOWED_DATE_COLS):
        if column in frame.columns and frame[column].nunique() > 1:
            values = [repr(str(v)) for v in frame[column].dropna().unique()]
            shown = ", ".join(values[:2]) + (", ..." if len(values) > 2 else "")
            return (f": the file holds rows of {len(values)} {column} values ({shown}); "
                    "submit only the live rows")  # fmt: skip
    return ""


def _plain(ticker: str) -> str:
    """An id with case and spaces ignored ('  t0007 us ' and 'T0007 US' are alike)."""
    return " ".join(ticker.split()).upper()


def near_misses(frame: pd.DataFrame, id_col: str, live: pd.Series) -> str:
    """``", e.g. ..."``: what the ids outside the universe look like next to the live ones,
    or ``"; N of them ..."`` those that only differ in case or spaces ("" when none is)."""
    outside = outside_universe(frame, id_col, live)
    if not outside or live.empty:
        return ""
    plain = {_plain(t): t for t in live}
    alike = [(t, plain[_plain(t)]) for t in outside if _plain(t) in plain]
    if alike:
        yours, theirs = alike[0]
        return (f"; {len(alike)} of them only differ from live ids in case or spaces, e.g. "
                f"{yours!r} for {theirs!r}: write the ids as the live universe does")  # fmt: skip
    return f", e.g. {outside[0]!r} (live ids look like {str(live.iloc[0])!r})"


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
        parts.append(f"{int(off.sum())} outside [0, 1], e.g. {float(values[off].iloc[0])!r}: "
                     "scale them into [0, 1], e.g. as ranks: df[col].rank(pct=True)")  # fmt: skip
    if not parts:
        parts.append(f"all {len(values)} values equal {float(values.iloc[0])!r}" if
                     values.nunique() == 1 else "values nearly constant")  # fmt: skip
    return "; ".join(parts)


def other_tournament(frame: pd.DataFrame, tournament: str) -> str:
    """A hint when the headers are another tournament's (``""`` otherwise)."""
    columns = [c for c in frame.columns if c not in ("date", "friday_date", "data_type")]
    if len(columns) != 2:
        return ""
    for name, (ids, values) in KINDS.items():
        if name != tournament and columns[0] in ids and columns[1] in values:
            return (f"; this is a {name.capitalize()} file: check [submission] tournament "
                    f"(now {tournament!r})")  # fmt: skip
    return ""


def outside_universe(frame: pd.DataFrame, id_col: str, live: pd.Series) -> list[str]:
    """Ids of the submission that are not in the live universe (Numerai ignores them)."""
    ids = frame[id_col].dropna().astype(str)
    return sorted(set(ids) - set(live))


def warn_outside(frame: pd.DataFrame, id_col: str, live: pd.Series, noun: str) -> None:
    """Warn about the ids (``noun``: ticker, symbol) Numerai ignores, outside the universe."""
    ignored = outside_universe(frame, id_col, live)
    if ignored:
        are = "is" if len(ignored) == 1 else "are"
        log.warning("%s %s not in this round's live universe: Numerai ignores %s%s",
                    plural(len(ignored), noun), are, "it" if len(ignored) == 1 else "them",
                    near_misses(frame, id_col, live))  # fmt: skip
