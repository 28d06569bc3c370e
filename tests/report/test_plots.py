"""The plots themselves: gaps drawn as gaps, legends that name what is drawn and stay off it."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

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


def test_many_columns_each_look_alike_nowhere_and_their_legend_fits_the_figure() -> None:
    """41 columns (every target of a dataset): the tenth colour came round again (two
    columns drawn alike), and the legend, six names a row, ran off both sides of the
    figure while its rows squeezed the axes to a third of their height."""
    columns = (*(f"target_number_{k}_20" for k in range(40)), "ensemble")
    values = np.random.default_rng(1).normal(0.02, 0.03, (len(ERAS), len(columns)))
    fig = _cum_plot("corr", "CORR")(_report(columns, values), ERAS, "era")
    fig.canvas.draw()
    ax = fig.axes[0]
    drawn = [line for line in ax.get_lines() if line.get_label() in columns]
    looks = {(line.get_color(), line.get_linestyle()) for line in drawn}
    assert len(drawn) == len(columns) == len(looks)
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    (legend,) = fig.legends
    box, page = legend.get_window_extent(renderer), fig.bbox
    assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0
    one = _cum_plot("corr", "CORR")(_report(columns[-2:], values[:, -2:]), ERAS, "era")
    one.canvas.draw()  # the axes keep (nearly) the height they have with two columns
    assert ax.bbox.height >= 0.9 * one.axes[0].bbox.height


@pytest.mark.parametrize(
    "eras",
    [
        [f"{e:04d}" for e in range(205, 281)],  # the demo's 76 eras: 0205, 0216, 0226, ...
        [f"{e:04d}" for e in range(1, 1201)],
        [f"{d} 00:00:00" for d in pd.date_range("2003-01-03", periods=600, freq="W-FRI").date],
    ],
)
def test_era_labels_step_evenly_by_a_round_number_and_never_overlap(eras: list[str]) -> None:
    fig = _cum_plot("corr", "CORR")(_report_on(eras), eras, "era")
    fig.canvas.draw()
    ax = fig.axes[0]
    ticks = [int(t) for t in ax.get_xticks()]
    steps = set(np.diff(ticks))
    assert len(steps) == 1 and len(ticks) >= 3, ticks  # one step for the whole axis
    (step,) = steps
    assert step / 10 ** int(np.log10(step)) in (1, 2, 5), step  # 10, 20, 50, 100, ...
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = [t.get_window_extent(renderer) for t in ax.get_xticklabels()]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert all(a.x1 < b.x0 for a, b in itertools.pairwise(boxes)), labels


def _report_on(eras: list[str]) -> ScoreReport:
    values = np.random.default_rng(2).normal(0.02, 0.03, (len(eras), 1))
    return ScoreReport(("ensemble",), {"corr": PerEra(np.array(eras), values)})
