"""``numerpilot run`` on the real path: download, train, validate, predict, submit (sandbox)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.pipeline.conftest import FAST_CONFIG, CliRunner

from numerpilot.sandbox import DEMO_PUBLIC_ID, DEMO_SECRET_KEY, SandboxServer

CONFIG = FAST_CONFIG + '\n[submission]\nmodels = ["sandbox_model", "sandbox_model_2"]\n'


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer) -> None:
    monkeypatch.setenv("NUMERPILOT_API_URL", sandbox.url)
    monkeypatch.setenv("NUMERAI_PUBLIC_ID", DEMO_PUBLIC_ID)
    monkeypatch.setenv("NUMERAI_SECRET_KEY", DEMO_SECRET_KEY)


@pytest.mark.usefixtures("keys")
def test_run_submits_once_per_round(cli: CliRunner, tmp_path: Path, sandbox: SandboxServer) -> None:
    (tmp_path / "numerpilot.toml").write_text(CONFIG)
    code, out = cli("run", "-C", str(tmp_path))
    assert code == 0, out
    assert "sandbox_model: submitted live_predictions.csv" in out
    received = sandbox.received()
    assert {r["model"] for r in received} == {"sandbox_model", "sandbox_model_2"}
    sent = (tmp_path / "predictions" / "live_predictions.csv").read_bytes()
    assert all(r["bytes"] == len(sent) for r in received)
    # The same round again: trained and predicted anew, but nothing uploaded twice.
    code, out = cli("run", "-C", str(tmp_path))
    assert code == 0, out
    assert "already submitted" in out
    assert len(sandbox.received()) == 2


def test_run_dry_run_needs_no_keys_and_uploads_nothing(
    cli: CliRunner, tmp_path: Path, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUMERPILOT_API_URL", sandbox.url)
    monkeypatch.delenv("NUMERAI_PUBLIC_ID", raising=False)
    monkeypatch.delenv("NUMERAI_SECRET_KEY", raising=False)
    monkeypatch.setenv("NUMERPILOT_CREDENTIALS", str(tmp_path / "no-such-file.json"))
    (tmp_path / "numerpilot.toml").write_text(CONFIG)
    code, out = cli("run", "--dry-run", "-C", str(tmp_path))
    assert code == 0, out
    assert "dry run: nothing uploaded" in out
    assert sandbox.received() == []
    assert (tmp_path / "data").is_dir() and (tmp_path / "models" / "manifest.json").exists()


@pytest.mark.usefixtures("keys")
def test_run_without_keys_is_refused_before_any_work(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NUMERAI_SECRET_KEY")
    monkeypatch.setenv("NUMERPILOT_CREDENTIALS", str(tmp_path / "no-such-file.json"))
    (tmp_path / "numerpilot.toml").write_text(CONFIG)
    code, out = cli("run", "-C", str(tmp_path))
    assert code == 1 and "NUMERAI_PUBLIC_ID" in out
    assert not (tmp_path / "data").exists()
