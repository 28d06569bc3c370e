"""``status`` in a work folder it cannot write: the tables stand, and one warning says the
page was not written, why, and what to do (status refused: the page is only an extra)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.support.fs import disk_full, read_only

from numerpilot.api.rounds import RoundInfo
from numerpilot.automation.status import ModelStatus, RoundStatus, StatusReport
from numerpilot.cli.render import print_page_outcome
from numerpilot.report.status_page import try_write_status_report

NOW = datetime(2025, 1, 7, 12, tzinfo=UTC)
INFO = RoundInfo(900, NOW - timedelta(hours=1), NOW + timedelta(hours=2),
                 NOW + timedelta(days=1), NOW, target="target")  # fmt: skip
REPORT = StatusReport(
    INFO, [ModelStatus("m", "id", rounds=[RoundStatus(899, "submitted", "s", 0.01, 0.002, 0.01)])]
)


def test_a_read_only_reports_folder_is_a_warning_not_a_refusal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "reports" / "status.html"
    read_only(monkeypatch, dest.parent)
    outcome = try_write_status_report(REPORT, dest, {})
    assert outcome == (
        f"{dest} was not written (permission denied: make {dest.parent} writable "
        "(chmod u+w), then run status again); the tables above are complete without it."
    )
    assert not list(dest.parent.iterdir())  # nothing half-written
    print_page_outcome(outcome)
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("Warning: ") and str(dest) in err


def test_a_reports_file_and_a_full_disk_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "reports").write_text("not a folder")
    outcome = try_write_status_report(REPORT, tmp_path / "reports" / "status.html", {})
    assert f"({tmp_path / 'reports'} is a file, not a folder: move it away" in str(outcome)
    assert (tmp_path / "reports").read_text() == "not a folder"
    disk_full(monkeypatch, tmp_path / "full")
    outcome = try_write_status_report(REPORT, tmp_path / "full" / "status.html", {})
    assert "(the disk is full: free some space, then run status again)" in str(outcome)
    assert not list((tmp_path / "full").glob("*"))


def test_a_written_page_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "reports" / "status.html"
    outcome = try_write_status_report(REPORT, dest, {})
    assert outcome == dest and "<h1>numerpilot status</h1>" in dest.read_text()
    print_page_outcome(outcome)
    assert capsys.readouterr().out == f"Report: {dest}\n"
