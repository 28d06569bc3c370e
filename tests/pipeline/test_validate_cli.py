"""validate from the command line: an era whose targets are missing is skipped and named."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from tests.pipeline.conftest import CliRunner

from numerpilot.data import layout


def test_empty_era_in_validation_is_skipped_and_counted(cli: CliRunner, workdir: Path) -> None:
    assert cli("train", "-C", str(workdir))[0] == 0
    val_path = workdir / "data" / "v5.2" / layout.VALIDATION
    val = pd.read_parquet(val_path)
    last = val.era.max()
    val.loc[val.era == last, "target"] = float("nan")
    val.to_parquet(val_path)
    code, out = cli("validate", "-C", str(workdir))
    assert code == 0
    report = json.loads((workdir / "reports" / "validation.json").read_text())
    assert last not in report["ensemble"]["per_era"]["corr"]
    assert "1 era skipped (targets or predictions missing)" in out and last in out


def test_report_names_each_members_model() -> None:
    import numpy as np

    from numerpilot.kernel.ensemble import build_models
    from numerpilot.kernel.linear import linear_text
    from numerpilot.modeling.manifest import Manifest
    from numerpilot.modeling.store import Bundle
    from numerpilot.pipeline.validate import _what

    plain, paired = (
        linear_text(np.ones(3), 0.0),
        linear_text(np.ones(3), 0.0, np.array([[0, 1], [2, 2]]), np.full((2, 2), 2.0), np.ones(2)),
    )
    names = ["target.linear", "target_x.linear"]
    manifest = Manifest(
        "v5", "all", ["a", "b", "c"], names, [0.5, 0.5], {}, dict.fromkeys(names, 0),
        dict.fromkeys(names), kinds=dict.fromkeys(names, "linear"),
    )  # fmt: skip
    payload = manifest.payload(dict(zip(names, [plain, paired], strict=True)))
    bundle = Bundle(manifest, payload, build_models(payload))
    assert _what(bundle, "target.linear") == "linear"
    assert _what(bundle, "target_x.linear") == "linear, 2 feature products"
