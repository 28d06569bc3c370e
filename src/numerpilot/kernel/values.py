"""What Numerai's features hold, in every data version: whole numbers 0..4 (int8).

One test for the data numerpilot loads and for the live frame a model-upload pickle is
given; each caller says in its own words what to do about a value that is not one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: The values of every feature of Numerai's files, whatever the data version.
LOW, HIGH = 0, 4
#: Columns looked at a time: a bool matrix of every row and column could be GBs.
_STEP = 64


def _not_whole(block: np.ndarray) -> np.ndarray:
    """Per value of ``block``: True where it is not a whole number 0..4 (NaN included);
    int8 is looked at as uint8 (a negative value is > 127), without a copy."""
    if block.dtype == np.int8:
        return block.view(np.uint8) > HIGH
    outside = (block < LOW) | (block > HIGH)
    if block.dtype.kind == "f":
        outside |= block != np.round(block)  # NaN too: it is not equal to itself
    return np.asarray(outside)


def _all_whole(matrix: np.ndarray) -> bool:
    """A quick pass over integer data: every value 0..4 (no bool matrix made)."""
    if matrix.dtype == np.int8:
        return int(matrix.view(np.uint8).max()) <= HIGH
    return matrix.dtype.kind in "iu" and matrix.min() >= LOW and matrix.max() <= HIGH


def not_whole_0_4(values: np.ndarray, names: Sequence[str]) -> str | None:
    """``feature NAME holds VALUE (and N more features)`` for the first column of
    ``values`` ((n, len(names)), or one column (n,)) that holds anything but a whole
    number 0..4 (NaN said as "missing values (NaN)"); None when every value is one."""
    matrix = values if values.ndim == 2 else values.reshape(-1, 1)
    if matrix.size == 0 or _all_whole(matrix):
        return None
    outside = np.concatenate([_not_whole(matrix[:, j : j + _STEP]).any(axis=0)
                              for j in range(0, matrix.shape[1], _STEP)])  # fmt: skip
    if not outside.any():
        return None
    column = int(np.argmax(outside))
    value = float(matrix[int(np.argmax(_not_whole(matrix[:, column]))), column])
    others = int(outside.sum()) - 1
    more = f" (and {others} more feature{'s' * (others > 1)})" if others else ""
    return f"feature {names[column]} holds {_said(value)}{more}"


def _said(value: float) -> str:
    """``value`` as a person reads it: 1234567 whole, not 1.23457e+06."""
    if np.isnan(value):
        return "missing values (NaN)"
    return f"{int(value)}" if value.is_integer() else f"{value:g}"
