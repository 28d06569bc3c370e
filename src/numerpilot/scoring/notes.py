"""The notes of a score report: which eras a metric skipped or left out, and why (targets
or predictions missing, too few rows, a constant column or meta model, features that explain
an era), one note per distinct set of eras, naming the columns when not all share it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from numerpilot.kernel.eras import EraIndex
from numerpilot.scoring.per_era import PerEra

#: Per group of prediction columns (their indices), a metric's scores of those columns.
Parts = dict[tuple[int, ...], PerEra]


def _eras(eras: Sequence[str]) -> str:
    """ "1 era", "3 eras"."""
    return f"{len(eras)} era{'s' * (len(eras) != 1)}"


def _shown(names: Sequence[str], at_most: int) -> str:
    return ", ".join(names[:at_most]) + (" …" if len(names) > at_most else "")


def skip_notes(
    metric: str,
    parts: Parts,
    columns: Sequence[str],
    reason: str,
    corr: Parts | None = None,
    omit: frozenset[str] = frozenset(),
) -> list[str]:
    """Notes naming the eras ``metric`` skipped and why, one per distinct set of eras.

    ``parts``: the metric's PerEra of each group of columns. With ``corr`` (CORR's parts,
    same groups) only the eras CORR scores count: CORR's note explains the others; eras
    in ``omit`` have a note of their own. A note names its columns when the columns did
    not all skip the same eras."""
    by_eras: dict[tuple[str, ...], list[int]] = {}
    for cols, part in parts.items():
        already = set(corr[cols].skipped) if corr is not None else set()
        skipped = tuple(e for e in part.skipped if e not in already and e not in omit)
        by_eras.setdefault(skipped, []).extend(cols)
    notes = []
    for eras, where in by_eras.items():
        if not eras:
            continue
        who = metric
        if len(by_eras) > 1:
            who += " of " + _shown([columns[j] for j in sorted(where)], 4)
        why = f"scored by CORR, but {reason}" if corr is not None else reason
        notes.append(f"{who}: {_eras(eras)} skipped ({why}): {_shown(eras, 6)}")
    return notes


def few_row_eras(eras: EraIndex) -> frozenset[str]:
    """Eras with fewer than 2 rows: no correlation can be computed there, whatever the data."""
    return frozenset(str(e) for e in eras.labels[eras.counts < 2])


def few_row_notes(parts: Parts, columns: Sequence[str], few: frozenset[str]) -> list[str]:
    """The note on the eras CORR skipped because they have under 2 rows (every column)."""
    eras = sorted({e for part in parts.values() for e in part.skipped if e in few})
    if not eras:
        return []
    why = "too few rows: a correlation needs at least 2"
    return [f"CORR: {_eras(eras)} skipped ({why}): {_shown(eras, 6)}"]


def fnc_notes(
    fnc: PerEra, corr: PerEra, columns: Sequence[str], eras: EraIndex, n_features: int
) -> list[str]:
    """Notes naming the eras CORR scores but FNC cannot, and why: an era with no more rows
    than features is fully explained by them, so neutralizing leaves nothing to score."""
    rows_of = {str(e): int(c) for e, c in zip(eras.labels, eras.counts, strict=True)}
    by_eras: dict[tuple[tuple[str, ...], bool], list[str]] = {}
    for j, col in enumerate(columns):
        lost = _lost_where_corr_defined(fnc, corr, j)
        for few in (True, False):
            part = tuple(e for e in lost if (rows_of.get(e, 0) <= n_features) == few)
            if part:
                by_eras.setdefault((part, few), []).append(col)
    few_rows = f"no more rows than the {n_features} features, so neutralizing leaves nothing"
    constant = "the predictions are constant once neutralized against the features"
    return [
        _left_out("FNC", lost_eras, where, columns, few_rows if few else constant)
        for (lost_eras, few), where in by_eras.items()
    ]


def undefined_notes(parts: Parts, columns: Sequence[str]) -> list[str]:
    """Notes naming the scored eras whose CORR is undefined (NaN: the predictions or the
    target constant in the era), which the summaries leave out."""
    by_eras: dict[tuple[str, ...], list[str]] = {}
    for cols, part in parts.items():
        for jj, j in enumerate(cols):
            eras = tuple(str(e) for e in part.eras[np.isnan(part.values[:, jj])])
            if eras:
                by_eras.setdefault(eras, []).append(columns[j])
    why = "the predictions or the target are constant there"
    return [_left_out("CORR", eras, where, columns, why) for eras, where in by_eras.items()]


def constant_model_notes(
    metric: str, scores: PerEra, corr: PerEra, columns: Sequence[str], model: str
) -> list[str]:
    """Notes naming the eras CORR scores but ``metric`` (MMC, BMC) leaves undefined (NaN):
    there the meta model (benchmark) is constant, so there is nothing to contribute to."""
    by_eras: dict[tuple[str, ...], list[str]] = {}
    for j, col in enumerate(columns):
        lost = tuple(_lost_where_corr_defined(scores, corr, j))
        if lost:
            by_eras.setdefault(lost, []).append(col)
    why = f"scored by CORR, but {model} is constant there"
    return [_left_out(metric, eras, where, columns, why) for eras, where in by_eras.items()]


def _lost_where_corr_defined(scores: PerEra, corr: PerEra, j: int) -> list[str]:
    """The eras where column ``j`` has a CORR but no value of ``scores`` (NaN)."""
    position = {str(e): i for i, e in enumerate(corr.eras)}
    return [
        str(e)
        for e, v in zip(scores.eras, scores.values[:, j], strict=True)
        if np.isnan(v) and str(e) in position and np.isfinite(corr.values[position[str(e)], j])
    ]


def _left_out(
    metric: str, eras: Sequence[str], where: list[str], columns: Sequence[str], why: str
) -> str:
    """The note on ``eras`` that ``metric`` of the columns ``where`` leaves out, and why."""
    who = metric + (f" of {_shown(where, 4)}" if len(where) < len(columns) else "")
    return f"{who}: {_eras(eras)} left out ({why}): {_shown(eras, 6)}"
