"""``status`` in a work folder it cannot write: the tables stand, and one warning says the
page was not written, why, and what to do (status refused: the page is only an extra)."""

from __future__ import annotations

import errno
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.support.fs import disk_full, read_only

from numerpilot.api.rounds import RoundInfo
from numerpilot.automation.status import ModelStatus, RoundStatus, StatusReport
from numerpilot.cli.render import print_page_outcome
from numerpilot.report.status_page import page_not_written, try_write_status_report

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
        f"{dest} was not written; the tables above are complete without it. Permission "
        f"denied: {dest.parent} is not writable. Make it writable (chmod u+w) or choose another "
        "work directory with -C."
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
    assert f". {tmp_path / 'reports'} is a file, not a folder: move it away" in str(outcome)
    assert (tmp_path / "reports").read_text() == "not a folder"
    disk_full(monkeypatch, tmp_path / "full")
    outcome = try_write_status_report(REPORT, tmp_path / "full" / "status.html", {})
    assert "The disk is full (writing " in str(outcome)
    assert str(outcome).endswith("free some space and run the command again.")
    assert not list((tmp_path / "full").glob("*"))


def test_a_written_page_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "reports" / "status.html"
    outcome = try_write_status_report(REPORT, dest, {})
    assert outcome == dest and "<h1>numerpilot status</h1>" in dest.read_text()
    print_page_outcome(outcome)
    assert capsys.readouterr().out == f"Report: {dest}\n"


def test_a_work_folder_without_reports_names_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``reports`` does not exist yet: the folder to make writable (or whose mount is
    read-only) is the work folder, the nearest one that exists."""
    dest = tmp_path / "wd" / "reports" / "status.html"
    read_only(monkeypatch, dest.parent.parent)
    outcome = str(try_write_status_report(REPORT, dest, {}))
    assert f"Permission denied: {tmp_path / 'wd'} is not writable. Make it writable" in outcome
    assert f"{dest.parent} is not writable" not in outcome
    mounted = OSError(errno.EROFS, os.strerror(errno.EROFS), str(dest))
    assert page_not_written(dest, mounted).endswith(
        f"Read-only file system: {tmp_path / 'wd'} cannot be written. Mount it writable or "
        "choose another work directory with -C."
    )


def test_a_folder_in_the_pages_place_and_a_too_long_path_say_what_to_do(tmp_path: Path) -> None:
    dest = tmp_path / "reports" / "status.html"
    dest.mkdir(parents=True)
    outcome = str(try_write_status_report(REPORT, dest, {}))
    assert outcome.endswith(f"{dest} is a folder, not a file: move it away, then run status again.")
    deep = tmp_path
    while len(str(deep)) < 4100:  # past PATH_MAX (4096) with reports/status.html
        deep /= "d" * 200
    dest = deep / "reports" / "status.html"
    outcome = str(try_write_status_report(REPORT, dest, {}))
    assert outcome.endswith(f"File name too long: {dest}; run status in a work folder with a "
                            "shorter path (-C).")  # fmt: skip
