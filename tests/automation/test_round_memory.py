"""The daemon predicts a round once, and again only when what the predictions came from
(the live file, the models in use, numerpilot.toml) or the predictions file changes."""

from __future__ import annotations

import os
from pathlib import Path

from numerpilot.automation.round_memory import RoundMemory


def test_a_round_is_predicted_once_until_a_source_or_the_file_changes(tmp_path: Path) -> None:
    live, manifest, config = (tmp_path / n for n in ("live.parquet", "manifest.json", "np.toml"))
    for path in (live, manifest, config):
        path.write_text("v1")
    dest = tmp_path / "live_predictions.csv"
    made: list[int] = []

    def predict() -> Path:
        made.append(1)
        dest.write_text(f"predictions {len(made)}")
        return dest

    memory = RoundMemory()
    sources = [live, manifest, config]
    for _ in range(3):
        assert memory.predictions(7, sources, dest, predict) == dest
    assert len(made) == 1
    config.write_text("neutralization 0.5")  # another setting: predicted again
    memory.predictions(7, sources, dest, predict)
    assert len(made) == 2
    os.utime(dest, ns=(1, 1))  # the predictions file touched (by hand, another process)
    memory.predictions(7, sources, dest, predict)
    assert len(made) == 3
    memory.predictions(8, sources, dest, predict)  # the next round
    assert len(made) == 4


def test_a_refusal_holds_for_the_same_file_only(tmp_path: Path) -> None:
    path = tmp_path / "signal.csv"
    path.write_text("a")
    memory = RoundMemory()
    memory.refuse(7, "m", path, "churn 40% >= 15%")
    assert memory.refusal(7, "m", path) == "churn 40% >= 15%"
    assert memory.refusal(7, "other", path) is None and memory.refusal(8, "m", path) is None
    path.write_text("a new signal")
    assert memory.refusal(7, "m", path) is None
