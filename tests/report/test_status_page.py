"""``reports/status.html`` says what the terminal says: why a round failed, and the payout
estimate of a round (the page showed only "failed", and no payout at all)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

import pytest
from tests.conftest import Numerpilot
from tests.support.fs import read_only

from numerpilot.api.rounds import RoundInfo
from numerpilot.automation.status import ModelStatus, RoundStatus, StatusReport
from numerpilot.report.status_page import render_status_html
from numerpilot.sandbox import SandboxServer

NOW = datetime(2025, 1, 7, 12, tzinfo=UTC)
INFO = RoundInfo(900, NOW - timedelta(hours=1), NOW + timedelta(hours=2),
                 NOW + timedelta(days=1), NOW, target="target")  # fmt: skip
WHY = "live.parquet is not round 900's: run 'numerpilot download' <script>x</script>"


def test_the_page_names_why_a_round_failed_and_each_payout_estimate() -> None:
    rounds = [RoundStatus(900, "failed", error=WHY),
              RoundStatus(899, "submitted", "s1", 0.0123, -0.0045, 0.0031),
              RoundStatus(898, "late", "s2", 0.02, 0.01, None)]  # fmt: skip
    html = render_status_html(StatusReport(INFO, [ModelStatus("m<1>", "id", rounds=rounds)]), {})
    assert f"round 900 ({escape('m<1>')}): {escape(WHY)}" in html
    assert "<script>" not in html
    assert "CORR +0.0123 MMC -0.0045<br>payout / stake +0.0031" in html
    assert html.count("<br>payout / stake") == 1  # a late round is scored, not paid: none


def test_no_failure_no_list() -> None:
    rounds = [RoundStatus(899, "submitted", "s1", 0.0123, -0.0045, 0.0031)]
    html = render_status_html(StatusReport(INFO, [ModelStatus("m", "id", rounds=rounds)]), {})
    assert "Why rounds failed" not in html


@pytest.mark.parametrize("fault", ["a file", "read-only"])
def test_status_shows_its_tables_where_the_page_cannot_be_written(
    numerpilot: Numerpilot, sandbox: SandboxServer, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, fault: str,
) -> None:  # fmt: skip
    """``reports`` a file, or a work folder it cannot write: status refused (exit 1) before
    showing anything; the page is an extra, so the tables stand and a warning says why."""
    for key in ("NUMERAI_PUBLIC_ID", "NUMERAI_SECRET_KEY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("NUMERPILOT_CREDENTIALS", str(tmp_path / "none.json"))
    monkeypatch.setenv("NUMERPILOT_API_URL", sandbox.url)
    (tmp_path / "numerpilot.toml").write_text('[submission]\nmodels = ["sandbox_model"]\n')
    if fault == "a file":
        (tmp_path / "reports").write_text("not a folder")
        why = f"{tmp_path / 'reports'} is a file, not a folder: move it away"
    else:
        read_only(monkeypatch, tmp_path)
        why = f"Permission denied: {tmp_path} is not writable. Make it writable (chmod u+w)"
    done = numerpilot("status", "-C", str(tmp_path))
    assert done.code == 0, done.err
    assert done.out.startswith("Round ") and "Models (read only" in done.out  # the tables
    (line,) = [line for line in done.err.splitlines() if line.strip()]
    assert line.startswith(f"Warning: {tmp_path / 'reports' / 'status.html'} was not written; ")
    assert why in line
    assert sorted(p.name for p in tmp_path.iterdir()) == (
        ["numerpilot.toml", "reports"] if fault == "a file" else ["numerpilot.toml"]
    )
