"""XGBoost models evaluated with numpy alone, for where XGBoost is not installed.

Numerai's model-upload runtime pins numpy, pandas, scipy and LightGBM, not XGBoost: a
pickle of an XGBoost ensemble carries each model's JSON and, when ``import xgboost``
fails there, predicts with :class:`NumpyForest` (the same sums in float64; XGBoost sums
in float32, so the two agree to about 1e-6, far below a rank's resolution).
"""

from __future__ import annotations

import json

import numpy as np

#: Rows scored at once: the node matrix is (rows, trees) int64.
_ROWS = 1024


class NumpyForest:
    """An XGBoost regression model (JSON) as flat node arrays of all its trees."""

    def __init__(self, text: str) -> None:
        learner = json.loads(text)["learner"]
        base = str(learner["learner_model_param"]["base_score"]).strip("[]")
        objective = learner["objective"]["name"]
        if objective != "reg:squarederror":
            raise ValueError(f"only reg:squarederror XGBoost models are supported, not {objective}")
        self.base = float(base.split(",")[0])
        trees = learner["gradient_booster"]["model"]["trees"]
        left, right, feat, cond, dleft, roots = [], [], [], [], [], []
        offset = 0
        for tree in trees:
            if any(tree["split_type"]):
                raise ValueError("categorical XGBoost splits are not supported")
            lc = np.asarray(tree["left_children"], dtype=np.int64)
            rc = np.asarray(tree["right_children"], dtype=np.int64)
            leaf = lc < 0
            left.append(np.where(leaf, np.arange(len(lc)), lc) + offset)
            right.append(np.where(leaf, np.arange(len(lc)), rc) + offset)
            feat.append(np.where(leaf, 0, np.asarray(tree["split_indices"], dtype=np.int64)))
            cond.append(np.asarray(tree["split_conditions"], dtype=np.float64))
            dleft.append(np.asarray(tree["default_left"], dtype=bool))
            roots.append(offset)
            offset += len(lc)
        self.left = np.concatenate(left) if trees else np.zeros(0, np.int64)
        self.right = np.concatenate(right) if trees else np.zeros(0, np.int64)
        self.feature = np.concatenate(feat) if trees else np.zeros(0, np.int64)
        self.value = np.concatenate(cond) if trees else np.zeros(0)
        self.default_left = np.concatenate(dleft) if trees else np.zeros(0, bool)
        self.is_leaf = self.left == np.arange(offset)
        self.roots = np.asarray(roots, dtype=np.int64)

    def inplace_predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions (n,) for X (n, f): base score plus each tree's leaf value."""
        X = np.asarray(X, dtype=np.float32)
        out = np.full(len(X), self.base)
        if len(self.roots) == 0:
            return out
        for start in range(0, len(X), _ROWS):
            x = X[start : start + _ROWS]
            node = np.broadcast_to(self.roots, (len(x), len(self.roots))).copy()
            rows = np.arange(len(x))[:, None]
            while not self.is_leaf[node].all():
                v = x[rows, self.feature[node]]
                # XGBoost compares in float32: go left when x < split (missing: the default).
                go_left = np.where(
                    np.isnan(v), self.default_left[node], v < self.value[node].astype(np.float32)
                )
                node = np.where(go_left, self.left[node], self.right[node])
            out[start : start + len(x)] += self.value[node].sum(axis=1)
        return out
