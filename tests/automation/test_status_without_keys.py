"""``status`` without API keys for a configured model numerpilot never submitted: it printed
an empty "Recent rounds" table and no word of why the model has no rounds."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

import numerpilot.cli.render as render
from numerpilot.api.client import NumeraiClient
from numerpilot.automation.status import collect
from numerpilot.config import ScoringConfig
from numerpilot.sandbox import SandboxServer
from numerpilot.submission.ledger import Ledger


def test_a_model_the_ledger_never_saw_is_explained_not_an_empty_table(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyless = NumeraiClient(None, sandbox.url)
    report = collect(keyless, Ledger(tmp_path / "state.db"), "classic", ["sandbox_model"],
                     ScoringConfig(), 5)  # fmt: skip
    assert report.models[0].rounds == []
    (note,) = [n for n in report.notes if n.startswith("sandbox_model:")]
    assert "no submission of it" in note and "NUMERAI_PUBLIC_ID" in note
    out = io.StringIO()
    monkeypatch.setattr(render, "console", Console(width=200, file=out))
    render.render_status(report)
    text = out.getvalue()
    assert "Recent rounds" not in text and "Note: sandbox_model: numerpilot's ledger" in text
