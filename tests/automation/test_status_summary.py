"""The key numbers of the rounds ``status`` shows, per model, at once: how many rounds are
scored, their CORR mean, sharpe and max drawdown, MMC mean and the payout estimates' sum;
the same cells in the terminal and on the page (status showed only round by round)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from numerpilot.api.rounds import RoundInfo
from numerpilot.automation.status import ModelStatus, RoundStatus, StatusReport
from numerpilot.automation.status_summary import summary_cells
from numerpilot.cli.render import render_status
from numerpilot.report.status_page import render_status_html
from numerpilot.scoring.summary import summarize

NOW = datetime(2025, 1, 7, 12, tzinfo=UTC)
INFO = RoundInfo(906, NOW - timedelta(hours=1), NOW + timedelta(hours=2),
                 NOW + timedelta(days=1), NOW, target="target")  # fmt: skip
ROUNDS = [  # newest first, as status lists them
    RoundStatus(906, "due"),
    RoundStatus(905, "submitted", "s5", -0.02, -0.01, -0.0375),
    RoundStatus(904, "late", "s4", 0.03, 0.02, None),  # scored, not staked: no payout
    RoundStatus(903, "missed"),
    RoundStatus(902, "submitted", "s2", 0.01, 0.004, 0.0165),
]


def test_each_model_has_its_scores_summary_in_time_order() -> None:
    name, n, mean, sharpe, drawdown, mmc, paid = summary_cells(
        ModelStatus("m", "id", rounds=ROUNDS)
    )
    stats = summarize(np.array([0.01, 0.03, -0.02]))  # oldest first: 902, 904, 905
    assert (name, n, mean, mmc, paid) == ("m", "3", "+0.0067", "+0.0047", "-0.0210")
    assert sharpe == f"{stats['sharpe']:.2f}"
    assert drawdown == "0.0200" == f"{stats['max_drawdown']:.4f}"  # newest first: 0


def test_terminal_and_page_show_the_same_cells(capsys: pytest.CaptureFixture[str]) -> None:
    models = [ModelStatus("m1", "a", rounds=ROUNDS), ModelStatus("m2", "b", rounds=ROUNDS[:1])]
    report = StatusReport(INFO, models)
    render_status(report)
    out = capsys.readouterr().out
    html = render_status_html(report, {})
    assert "Scores of the last 5 rounds" in out and "<h2>Scores of the last 5 rounds</h2>" in html
    for model in models:
        cells = summary_cells(model)
        assert " ".join(cells) in " ".join(out.split())
        assert "".join(f"<td>{c}</td>" for c in cells[1:]) in html
    assert summary_cells(models[1])[1:] == ["0", "–", "–", "–", "–", "–"]


def test_no_scored_round_no_summary(capsys: pytest.CaptureFixture[str]) -> None:
    report = StatusReport(INFO, [ModelStatus("m", "id", rounds=[RoundStatus(906, "due")])])
    render_status(report)
    assert "Scores of" not in capsys.readouterr().out
    assert "Scores of" not in render_status_html(report, {})
