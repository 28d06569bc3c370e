"""The download/submit/status commands against the sandbox (keys from the environment)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from numerpilot.cli.commands import app
from numerpilot.sandbox import DEMO_PUBLIC_ID, DEMO_SECRET_KEY, SandboxServer


def test_download_submit_status(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUMERPILOT_API_URL", sandbox.url)
    monkeypatch.setenv("NUMERAI_PUBLIC_ID", DEMO_PUBLIC_ID)
    monkeypatch.setenv("NUMERAI_SECRET_KEY", DEMO_SECRET_KEY)
    runner = CliRunner()
    done = runner.invoke(app, ["download", "-C", str(tmp_path)])
    assert done.exit_code == 0, done.output
    live = pd.read_parquet(tmp_path / "data" / "v5.3" / "live.parquet")
    preds = tmp_path / "predictions" / "live_predictions.csv"
    preds.parent.mkdir()
    values = np.random.default_rng(1).uniform(0.1, 0.9, len(live))
    pd.DataFrame({"id": live.index, "prediction": values}).to_csv(preds, index=False)
    unnamed = runner.invoke(app, ["submit", "--dry-run", "-C", str(tmp_path)])  # no model
    assert unnamed.exit_code == 0, unnamed.output
    said = " ".join(unnamed.output.split())
    assert "live_predictions.csv is valid for the open round; no model was named (--model" in said
    assert "(--model NAME or [submission] models), so no model name was checked" in said
    args = ["submit", "-C", str(tmp_path), "--model", "sandbox_model"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "submitted" in first.output
    second = runner.invoke(app, args)
    assert "already submitted" in second.output
    assert len(sandbox.state.submissions) == 1
    status = runner.invoke(app, ["status", "-C", str(tmp_path)])
    assert status.exit_code == 0, status.output
    assert "sandbox_model" in status.output
    assert DEMO_SECRET_KEY not in first.output + second.output + status.output
