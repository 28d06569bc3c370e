"""The sqlite ledger."""

from __future__ import annotations

from pathlib import Path

import pytest

from numerpilot.submission.ledger import Ledger, SubmissionRecord


def _rec(round: int, sid: str | None = "s1") -> SubmissionRecord:
    return SubmissionRecord("classic", "m", "mid", round, sid, "ab" * 32, "p.csv", "t")


def test_record_find_history(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "state.db")
    assert ledger.history() == []
    assert not (tmp_path / "state.db").exists()
    assert ledger.find("classic", "mid", 1) is None
    ledger.record(_rec(1))
    ledger.record(_rec(2, "s2"))
    found = ledger.find("classic", "mid", 2)
    assert found is not None
    assert found.submission_id == "s2"
    assert ledger.find("signals", "mid", 2) is None
    assert [r.round for r in ledger.history()] == [2, 1]


def test_unconfirmed_uploads_are_never_recorded(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="confirmed"):
        Ledger(tmp_path / "state.db").record(_rec(1, None))
