"""A member's progress: trees done, the holdout score as it changes, time left."""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from rich.progress import Progress

from numerpilot.cli.bars import RichProgressReporter, member_columns
from numerpilot.config import Config
from numerpilot.data.load import load_era_data
from numerpilot.modeling.backends import fit_member
from numerpilot.modeling.cv import holdout_split
from numerpilot.modeling.members import Member
from numerpilot.progress import Scored, member_task


class Recorder:
    """A Progress that can show scores: records every (steps, score) of each bar."""

    def __init__(self) -> None:
        self.calls: dict[str, list[tuple[int, float | None]]] = {}

    @contextlib.contextmanager
    def task(self, description: str, total: int | None) -> Iterator[object]:
        yield lambda steps: None

    @contextlib.contextmanager
    def scored_task(self, description: str, total: int) -> Iterator[Scored]:
        calls = self.calls.setdefault(description, [])
        yield lambda steps, score: calls.append((steps, score))


@pytest.mark.parametrize("backend", ["lightgbm", "xgboost"])
def test_bar_counts_trees_and_shows_the_holdout_score(synthetic_dir: Path, backend: str) -> None:
    if backend == "xgboost":
        pytest.importorskip("xgboost", reason="XGBoost is an optional extra")
    features = json.loads((synthetic_dir / "features.json").read_text())["feature_sets"]["small"]
    data = load_era_data(synthetic_dir / "train.parquet", features, ["target"])
    cfg = Config.model_validate(
        {"model": {"backend": backend}, "lightgbm": {"n_estimators": 30, "num_threads": 1}}
    )
    recorder = Recorder()
    member = Member("target", "target", 0, 1)
    with member_task(recorder, "target", 30) as bar:
        fitted = fit_member(
            data.features, data.target("target"), data.eras, member=member,
            feature_names=features, cfg=cfg, split=holdout_split(data.eras, 8, 2),
            early_stopping_rounds=0, on_progress=bar,
        )  # fmt: skip
    calls = recorder.calls["target"]
    assert sum(steps for steps, _ in calls) == 30  # every tree, once
    scores = [score for _, score in calls if score is not None]
    assert len(scores) == 30
    assert fitted.best_iteration == 30 and fitted.holdout_score == pytest.approx(scores[-1])


def test_terminal_bar_shows_trees_score_and_time_left() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    with Progress(*member_columns(), console=console, auto_refresh=False) as bar:
        task = bar.add_task("Training target", total=2000, score="")
        bar.update(task, advance=400, score="holdout 0.0123")
        bar.refresh()
    text = out.getvalue()
    assert "Training target" in text and "400/2000" in text and "holdout 0.0123" in text
    assert re.search(r"\d:\d\d:\d\d|-:--:--", text)  # time left


def test_plain_output_names_each_finished_member() -> None:
    out = io.StringIO()
    reporter = RichProgressReporter(Console(file=out, force_terminal=False))
    with member_task(reporter, "Training target", 10) as bar:
        bar(10, 0.02)
    assert out.getvalue() == "✓ Training target\n"
