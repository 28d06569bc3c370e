"""The sandbox's Signals rounds move like Numerai's: a model trained on the history ranks
the live universe steadily enough that the daemon, with the default churn and turnover
limits, can submit it round after round (a fresh wobble every date churned ~30 %)."""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import pandas as pd

from numerpilot.config import SubmissionConfig
from numerpilot.sandbox.tickers import SIGNALS, SIGNALS_LIVE, TRAIN, TickerData
from numerpilot.submission.rules.churn import Previous, max_churn_and_turnover


def test_a_models_signal_churns_under_the_default_limits_round_after_round(
    tmp_path: Path,
) -> None:
    data = TickerData(tmp_path, SIGNALS)
    train = pd.read_parquet(data.path(TRAIN, 0))
    features = [c for c in train.columns if c.startswith("feature_")]
    model = lgb.LGBMRegressor(n_estimators=60, learning_rate=0.1, colsample_bytree=0.5,
                              num_threads=1, verbose=-1, random_state=0)  # fmt: skip
    model.fit(train[features], train["target"])
    signals: dict[int, tuple[pd.DataFrame, pd.DataFrame]] = {}
    for number in range(600, 609):
        live = pd.read_parquet(data.path(SIGNALS_LIVE, number))
        frame = pd.DataFrame({"numerai_ticker": live["numerai_ticker"],
                              "signal": model.predict(live[features])})  # fmt: skip
        signals[number] = (frame, data.universe(number).astype(str))
    limits = SubmissionConfig()
    for number in range(603, 609):  # against the last five rounds, as the daemon checks
        frame, universe = signals[number]
        previous = [
            Previous(f"round {n}", *signals[n]) for n in range(max(600, number - 5), number)
        ]
        figures = max_churn_and_turnover(frame, universe, previous)
        assert figures.churn is not None and figures.churn < limits.max_churn, (number, figures)
        assert figures.turnover is not None and figures.turnover < limits.max_turnover
