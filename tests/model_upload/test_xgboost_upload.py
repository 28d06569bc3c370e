"""An XGBoost ensemble's model-upload pickle predicts in a runtime without XGBoost."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.model_upload.conftest import DEMO_TOML
from typer.testing import CliRunner

from numerpilot.cli.commands import app
from numerpilot.kernel.trees import NumpyForest
from numerpilot.model_upload.build import build_upload

# The runtime pins no XGBoost: the pickle must work with neither numerpilot nor xgboost.
_NO_XGBOOST = """
import importlib.abc, sys
class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('numerpilot', 'xgboost'):
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, Blocked())
import pandas as pd
model = pd.read_pickle(sys.argv[1])
out = model(pd.read_parquet(sys.argv[2]))
assert not any(m.split('.')[0] in ('numerpilot', 'xgboost') for m in sys.modules)
out.to_parquet(sys.argv[3])
"""


def test_numpy_forest_equals_xgboost() -> None:
    xgboost = pytest.importorskip("xgboost", reason="XGBoost is an optional extra")
    rng = np.random.default_rng(3)
    x = rng.integers(0, 5, size=(2000, 12)).astype(np.float32)
    x[::9, 4] = np.nan
    y = x[:, 0] * 0.1 + rng.normal(size=2000) * 0.1
    params = {"max_depth": 5, "max_bin": 16, "tree_method": "hist", "max_leaves": 31}
    booster = xgboost.train(params, xgboost.DMatrix(x, label=y), 80)
    forest = NumpyForest(bytes(booster.save_raw("json")).decode())
    np.testing.assert_allclose(forest.inplace_predict(x), booster.inplace_predict(x), atol=1e-5)


def test_xgboost_pickle_runs_without_xgboost(tmp_path: Path) -> None:
    pytest.importorskip("xgboost", reason="XGBoost is an optional extra")
    root = tmp_path / "wd"
    root.mkdir()
    (root / "numerpilot.toml").write_text(DEMO_TOML + '\n[model]\nbackend = "xgboost"\n')
    for command in ("train", "predict"):
        result = CliRunner().invoke(app, [command, "--demo", "-C", str(root)])
        assert result.exit_code == 0, result.output
    built = build_upload(root / "models", root / "model.pkl")
    assert built.info["n_trees"] > 0
    out = tmp_path / "out.parquet"
    live = root / "data" / "demo" / "live.parquet"
    proc = subprocess.run(
        [sys.executable, "-I", "-c", _NO_XGBOOST, str(built.path), str(live), str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    got = pd.read_parquet(out)["prediction"]
    want = pd.read_csv(root / "predictions" / "live_predictions.csv", index_col="id")["prediction"]
    want = want.loc[got.index]
    # XGBoost sums leaves in float32, numpy in float64: ranks agree but for near-ties.
    assert np.corrcoef(got, want)[0, 1] > 0.999
    assert np.abs(got.to_numpy() - want.to_numpy()).max() < 0.05
