"""Linear members of the ensemble, evaluated with numpy alone.

A linear member is ``X @ coef + intercept`` on the raw feature values (int8 0..4 in
Numerai's data), plus, where training found them, terms on products of two centred
features, ``pair_coef[k] * (X[:, i] - c_i) * (X[:, j] - c_j)`` for ``pairs[k] = (i, j)``
(``i == j``: a square). Its model text is a small JSON document, so a bundle stores it
beside the tree models and a model-upload pickle carries it as plain data.
"""

from __future__ import annotations

import json

import numpy as np

#: The payload's kind of a linear member (the tree members' kind is the payload's backend).
LINEAR = "linear"
_FORMAT = "numerpilot-linear-1"
#: The format of a member with product terms (a reader of format 1 alone refuses it).
_FORMAT_PAIRS = "numerpilot-linear-2"
#: Decimals a linear member's predictions keep (their scale is the gaussianised target's).
DECIMALS = 12


def pair_columns(X: np.ndarray, pairs: np.ndarray, center: np.ndarray) -> np.ndarray:
    """Products (n, k) of the centred feature pairs: ``pairs`` (k, 2) column indices,
    ``center`` (k, 2) the value subtracted from each."""
    left = np.asarray(X[:, pairs[:, 0]], dtype=np.float64) - center[:, 0]
    right = np.asarray(X[:, pairs[:, 1]], dtype=np.float64) - center[:, 1]
    return np.asarray(left * right)


def linear_text(
    coef: np.ndarray,
    intercept: float,
    pairs: np.ndarray | None = None,
    center: np.ndarray | None = None,
    pair_coef: np.ndarray | None = None,
) -> str:
    """The model text of ``coef`` (f,) and ``intercept``, with the product terms
    ``pairs`` (k, 2), ``center`` (k, 2) and ``pair_coef`` (k,) when there are any."""
    spec: dict[str, object] = {
        "format": _FORMAT, "coef": [float(c) for c in coef], "intercept": float(intercept),
    }  # fmt: skip
    if pairs is not None and len(pairs) and center is not None and pair_coef is not None:
        spec["format"] = _FORMAT_PAIRS
        spec["pairs"] = [[int(i), int(j)] for i, j in pairs]
        spec["center"] = [[float(a), float(b)] for a, b in center]
        spec["pair_coef"] = [float(c) for c in pair_coef]
    return json.dumps(spec)


class LinearModel:
    """A linear member built from its model text."""

    def __init__(self, text: str) -> None:
        spec = json.loads(text)
        if spec.get("format") not in (_FORMAT, _FORMAT_PAIRS):
            raise ValueError(f"not a linear model of format {_FORMAT} or {_FORMAT_PAIRS}")
        self.coef = np.asarray(spec["coef"], dtype=np.float64)
        self.intercept = float(spec["intercept"])
        self.pairs = np.asarray(spec.get("pairs", []), dtype=np.int64).reshape(-1, 2)
        self.center = np.asarray(spec.get("center", []), dtype=np.float64).reshape(-1, 2)
        self.pair_coef = np.asarray(spec.get("pair_coef", []), dtype=np.float64)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions (n,) for X (n, f), rounded to :data:`DECIMALS` decimals: BLAS sums a
        row's products in an order that depends on where the row sits, so two equal rows
        could differ by 1e-17, and the per-era ranks would tell them far apart."""
        out = np.asarray(X, dtype=np.float64) @ self.coef + self.intercept
        if len(self.pairs):
            out += pair_columns(X, self.pairs, self.center) @ self.pair_coef
        return np.round(out, DECIMALS)
