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
    assert "1 eras skipped (targets or predictions missing)" in out and last in out
