"""Rounds as the API answers them, odd answers included."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from numerpilot.api.client import NumeraiClient, _submission
from numerpilot.api.errors import NumeraiAPIError
from numerpilot.api.rounds import parse_round
from numerpilot.sandbox import SandboxServer

NOW = datetime(2025, 1, 11, 13, tzinfo=UTC)
ROUND = {"number": 900, "openTime": "2025-01-11T12:00:00Z", "closeTime": "2025-01-13T12:00:00Z",
         "closeStakingTime": "2025-01-12T14:00:00Z"}  # fmt: skip


def test_times_without_a_zone_are_utc() -> None:
    """Compared with the server's clock (aware) they crashed every command with TypeError."""
    naive = {k: v.rstrip("Z") if isinstance(v, str) else v for k, v in ROUND.items()}
    info = parse_round(naive, NOW)
    assert info == parse_round(ROUND, NOW)
    assert info.is_open and not info.is_late


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"openTime": None}, "no usable openTime None"),
        ({"openTime": "next tuesday"}, "no usable openTime 'next tuesday'"),
        ({"openTime": 1736596800}, "no usable openTime 1736596800"),
        ({"closeTime": None, "closeStakingTime": None}, "no usable closeStakingTime None"),
        ({"number": None}, "round ? has no usable number None"),
    ],
)
def test_an_unusable_field_is_named(change: dict[str, Any], named: str) -> None:
    with pytest.raises(NumeraiAPIError) as error:
        parse_round({**ROUND, **change}, NOW)
    assert named in str(error.value) and error.value.retryable
    assert "try again later" in str(error.value) and "{" not in str(error.value)


def test_odd_optional_fields_are_unknown_not_errors() -> None:
    info = parse_round({**ROUND, "target": 7, "payoutFactor": "n/a",
                        "roundScoreConfigs": ["corr", {"name": "mmc"}]}, NOW)  # fmt: skip
    assert info.target is None and info.payout_factor is None
    assert [c.name for c in info.scores] == ["mmc"]


def test_rounds_are_newest_first_whatever_the_api_order(
    client: NumeraiClient, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    newest_first = [r.number for r in client.rounds(limit=4)]
    query = client.api.raw_query

    def oldest_first(*args: Any, **kwargs: Any) -> dict[str, Any]:
        answer = query(*args, **kwargs)
        answer["data"]["rounds"].reverse()
        return answer

    monkeypatch.setattr(client.api, "raw_query", oldest_first)
    assert [r.number for r in client.rounds(limit=4)] == newest_first
    assert newest_first == sorted(newest_first, reverse=True)


def test_a_submission_entry_with_odd_fields_reads() -> None:
    odd = _submission({"id": "s1", "round": {"number": "x"}, "insertedAt": "yesterday"})
    assert (odd.id, odd.round, odd.inserted_at) == ("s1", None, None)
    naive = _submission({"id": "s2", "round": {"number": 7}, "insertedAt": "2025-01-11T12:00:00"})
    assert naive.round == 7 and naive.inserted_at == datetime(2025, 1, 11, 12, tzinfo=UTC)
