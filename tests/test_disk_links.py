"""Links where numerpilot writes: a link of the user's to a file is written through (the
link stays, the file it points to is new), a link to a folder is never replaced by a file.
The commands over linked files and folders: tests/badinput/test_disk.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from numerpilot.io import write_files_atomic, write_text_atomic


def test_a_linked_file_is_written_through(tmp_path: Path) -> None:
    served = tmp_path / "web" / "report.html"
    served.parent.mkdir()
    served.write_text("old")
    link = tmp_path / "validation.html"
    link.symlink_to(served)
    write_text_atomic(link, "new")
    assert link.is_symlink() and served.read_text() == "new"
    write_files_atomic({link: b"newer", tmp_path / "validation.json": b"{}"})
    assert link.is_symlink() and served.read_text() == "newer"
    assert sorted(p.name for p in served.parent.iterdir()) == ["report.html"]


def test_a_link_to_a_folder_is_refused_not_replaced(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    link = tmp_path / "out.json"
    link.symlink_to(tmp_path / "folder")
    with pytest.raises(IsADirectoryError, match="out.json") as refused:
        write_text_atomic(link, "{}")
    assert link.is_symlink() and list((tmp_path / "folder").iterdir()) == []
    from numerpilot.errors import from_os_error  # as the user reads it: not "is a folder"

    assert "out.json is a link to a folder" in str(from_os_error(refused.value))


def test_a_link_to_nothing_is_replaced(tmp_path: Path) -> None:
    link = tmp_path / "out.json"
    link.symlink_to(tmp_path / "gone.json")
    write_text_atomic(link, "{}")
    assert not link.is_symlink() and link.read_text() == "{}"
    assert not (tmp_path / "gone.json").exists()
