"""Why rounds failed, after a week of the same fault: one line per reason naming its rounds
and models (status printed one identical line per model and round: 20 for two models over
ten rounds), the same under the table and on the page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import escape

import pytest

from numerpilot.api.rounds import RoundInfo
from numerpilot.automation.status import ModelStatus, RoundStatus, StatusReport
from numerpilot.cli.render import render_status
from numerpilot.report.status_page import render_status_html

NOW = datetime(2025, 1, 7, 12, tzinfo=UTC)
INFO = RoundInfo(912, NOW - timedelta(hours=1), NOW + timedelta(hours=2),
                 NOW + timedelta(days=1), NOW, target="target")  # fmt: skip
NO_MODELS = "no trained models in /w/models. Run 'numerpilot train' first."
STALE = "live.parquet is not round 909's: run 'numerpilot download'"


def _model(name: str, failed: dict[int, str]) -> ModelStatus:
    rounds = [RoundStatus(n, "failed", error=failed[n]) if n in failed
              else RoundStatus(n, "submitted", "s") for n in range(912, 900, -1)]  # fmt: skip
    return ModelStatus(name, f"id-{name}", rounds=rounds)


def test_one_line_per_reason_with_its_rounds_and_models(
    capsys: pytest.CaptureFixture[str],
) -> None:
    week = dict.fromkeys([901, 902, 903, 904, 905, 907], NO_MODELS)
    report = StatusReport(INFO, [
        _model("m1", {**week, 909: STALE}),
        _model("m2", week),
        _model("m3", {905: NO_MODELS}),
    ])  # fmt: skip
    assert report.failures() == [  # the model's newest first, as in the table
        f"round 909 (m1): {STALE}",
        f"rounds 901 to 905, 907 (m1, m2): {NO_MODELS}",
        f"round 905 (m3): {NO_MODELS}",
    ]
    render_status(report)
    out = capsys.readouterr().out
    assert out.count("Failed:") == 3
    assert f"Failed: rounds 901 to 905, 907 (m1, m2): {NO_MODELS}" in out
    html = render_status_html(report, {})
    assert html.count("<li>") == 3 + 1  # the three reasons, and the notes' "none"
    assert f"<li>{escape(report.failures()[1])}</li>" in html


def test_two_rounds_in_a_row_are_listed_not_a_range() -> None:
    report = StatusReport(INFO, [_model("m1", {903: STALE, 904: STALE})])
    assert report.failures() == [f"rounds 903, 904 (m1): {STALE}"]
