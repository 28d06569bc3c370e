"""The plots themselves: gaps drawn as gaps, legends that name what is drawn and stay off it."""

from __future__ import annotations

import numpy as np

from numerpilot.report.plots import _corr_bars, _cum_plot, _drawdown
from numerpilot.scoring.per_era import PerEra
from numerpilot.scoring.report import ScoreReport

ERAS = [f"{e:04d}" for e in range(1, 41)]
GAP = slice(15, 20)  # eras 0016 to 0020 have no score


def _report(columns: tuple[str, ...], values: np.ndarray) -> ScoreReport:
    return ScoreReport(columns, {"corr": PerEra(np.array(ERAS), values)})


def _with_gap() -> ScoreReport:
    v = np.full((len(ERAS), 1), 0.02)
    v[::3] = -0.05
    v[GAP] = np.nan
    return _report(("ensemble",), v)


def test_drawdown_fill_leaves_the_unscored_eras_empty() -> None:
    (fill,) = _drawdown(_with_gap(), ERAS, "era").axes[0].collections
    spans = sorted((p.vertices[:, 0].min(), p.vertices[:, 0].max()) for p in fill.get_paths())
    assert spans == [(0.0, GAP.start - 1), (GAP.stop, len(ERAS) - 1)]  # not a 0 across it


def test_rolling_mean_is_not_drawn_across_unscored_eras() -> None:
    ax = _corr_bars(_with_gap(), ERAS, "era").axes[0]
    (mean,) = [line for line in ax.get_lines() if line.get_label() == "20-era mean"]
    y = np.asarray(mean.get_ydata(), dtype=np.float64)
    assert np.isnan(y[GAP]).all()
    assert np.isfinite(y[GAP.stop :]).all()


def test_legend_names_only_drawn_columns_and_many_go_below_the_axes() -> None:
    columns = ("a", "b", "dropped", "c", "d", "e", "ensemble")
    values = np.random.default_rng(0).normal(0.02, 0.03, (len(ERAS), len(columns)))
    values[:, 2] = np.nan  # a member the recipe dropped: no line, so no legend entry
    fig = _cum_plot("corr", "CORR")(_report(columns, values), ERAS, "era")
    ax = fig.axes[0]
    fig.canvas.draw()
    legends = [ax.get_legend(), *fig.legends]
    (legend,) = [g for g in legends if g is not None]
    assert [t.get_text() for t in legend.get_texts()] == ["a", "b", "c", "d", "e", "ensemble"]
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    assert not legend.get_window_extent(renderer).overlaps(ax.get_window_extent(renderer))
    few = _cum_plot("corr", "CORR")(_report(columns[:2], values[:, :2]), ERAS, "era")
    assert few.axes[0].get_legend() is not None and not few.legends  # two: inside, as before
