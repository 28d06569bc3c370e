"""Linear members of the ensemble, evaluated with numpy alone.

A linear member is ``X @ coef + intercept`` on the raw feature values (int8 0..4 in
Numerai's data). Its model text is a small JSON document, so a bundle stores it beside
the tree models and a model-upload pickle carries it as plain data.
"""

from __future__ import annotations

import json

import numpy as np

#: The payload's kind of a linear member (the tree members' kind is the payload's backend).
LINEAR = "linear"
_FORMAT = "numerpilot-linear-1"


def linear_text(coef: np.ndarray, intercept: float) -> str:
    """The model text of ``coef`` (f,) and ``intercept``."""
    return json.dumps(
        {"format": _FORMAT, "coef": [float(c) for c in coef], "intercept": float(intercept)}
    )


class LinearModel:
    """A linear member built from its model text."""

    def __init__(self, text: str) -> None:
        spec = json.loads(text)
        if spec.get("format") != _FORMAT:
            raise ValueError(f"not a linear model of format {_FORMAT}")
        self.coef = np.asarray(spec["coef"], dtype=np.float64)
        self.intercept = float(spec["intercept"])

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions (n,) for X (n, f)."""
        return np.asarray(X, dtype=np.float64) @ self.coef + self.intercept
