"""PNG plots of a :class:`ScoreReport`, drawn with the object API (no pyplot, no global state)."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from numerpilot.scoring.report import ScoreReport

#: The column drawn emphasised and used for the single-column plots when present.
ENSEMBLE = "ensemble"
ROLLING_ERAS = 20
DPI = 90
_SIZE = (10.0, 3.4)
#: At most this many eras are labelled on an era axis.
_N_TICKS = 10
_MAX_BAR_PATCHES = 120
#: At most this many legend entries sit inside the axes; more go below them.
_LEGEND_INSIDE = 4
_UP, _DOWN, _FOCUS = "#2b8a3e", "#c92a2a", "#111111"
#: Line colours, then dash patterns for the columns beyond ten (no two columns alike).
_COLOURS: tuple[str, ...] = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                             "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")  # fmt: skip
_DASHES = ("-", "--", ":", "-.")
#: Legend text (8 pt at :data:`DPI`): about this many pixels a character, and per entry
#: its line sample and the spacing; inches of figure height a row of legend takes.
_CHAR_PX, _ENTRY_PX, _LEGEND_ROW_IN = 6.0, 50.0, 0.2


@dataclass(frozen=True)
class Plot:
    """One rendered figure: a stable key, a human title and the PNG bytes."""

    key: str
    title: str
    png: bytes


def focus_column(report: ScoreReport) -> str:
    """The column the single-column plots show: ``ensemble`` if present, else the last one."""
    return ENSEMBLE if ENSEMBLE in report.columns else report.columns[-1]


def all_eras(report: ScoreReport) -> list[str]:
    """Sorted union of the eras of every computed metric (the x axis of every plot); the
    shorter label first, so that unpadded numbers (rounds, ``era9``/``era10``) sort as numbers."""
    return sorted(
        {str(e) for m in report.metrics.values() for e in m.eras}, key=lambda e: (len(e), e)
    )


def label(name: str) -> str:
    """A column name as matplotlib text: ``$`` is not math, a leading ``_`` is not hidden."""
    text = name.replace("$", r"\$")
    return "\u200b" + text if text.startswith("_") else text


def _aligned(report: ScoreReport, metric: str, eras: list[str]) -> np.ndarray:
    """(E, k) values of one metric on the common era axis (NaN where the metric has no era)."""
    scores = report.metrics[metric]
    out = np.full((len(eras), len(report.columns)), np.nan)
    pos = {e: i for i, e in enumerate(eras)}
    idx = np.array([pos[str(e)] for e in scores.eras], dtype=np.int64)
    if len(idx):
        out[idx] = np.asarray(scores.values, dtype=np.float64)
    return out


def _cumulative(values: np.ndarray) -> np.ndarray:
    """Cumulative sum over the scored eras; NaN in an era without a score (a gap in the
    line, not a flat stretch that would read as a score of 0)."""
    return np.where(np.isfinite(values), np.nancumsum(values, axis=0), np.nan)


def rolling_mean(values: np.ndarray, window: int = ROLLING_ERAS) -> np.ndarray:
    """Trailing mean over ``window`` eras ignoring NaN (NaN until window // 2 finite eras)."""
    finite = np.isfinite(values)
    sums = np.concatenate([[0.0], np.cumsum(np.where(finite, values, 0.0))])
    counts = np.concatenate([[0], np.cumsum(finite)])
    lo = np.maximum(np.arange(1, len(values) + 1) - window, 0)
    hi = np.arange(1, len(values) + 1)
    n = counts[hi] - counts[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (sums[hi] - sums[lo]) / n
    return np.where(n >= max(window // 2, 1), mean, np.nan)


def drawdown(values: np.ndarray) -> np.ndarray:
    """Cumulative score minus its running peak (<= 0; its minimum is -max_drawdown; NaN in
    eras without a score)."""
    cum = _cumulative(values)
    return cum - np.fmax.accumulate(np.where(np.isfinite(cum), cum, -np.inf))


def era_ticks(eras: list[str]) -> list[int]:
    """Positions of the labelled eras: evenly spaced by a round step (every 10th or 50th
    era, not every 10.7th), and few enough that the longest label never meets the next."""
    if len(eras) <= 1:
        return list(range(len(eras)))
    room = _SIZE[0] * DPI * 0.85  # the axes' share of the figure's width, in pixels
    fit = int(room // (max(map(len, eras)) * _CHAR_PX + 12))  # 8 pt labels and a gap
    bins = max(1, min(_N_TICKS, fit) - 1)  # n labels span n - 1 steps
    locator = MaxNLocator(nbins=bins, integer=True, steps=[1, 2, 5, 10])
    ticks = [int(t) for t in locator.tick_values(0, len(eras) - 1) if 0 <= t <= len(eras) - 1]
    return ticks or [0]


def _axes(eras: list[str], title: str, ylabel: str, unit: str) -> tuple[Figure, Axes]:
    fig = Figure(figsize=_SIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=11, loc="left")
    ax.set_ylabel(ylabel)
    ax.set_xlabel(unit)
    ax.grid(True, alpha=0.3, linewidth=0.6)
    ax.axhline(0.0, color="#888888", linewidth=0.8)
    ticks = era_ticks(eras)
    ax.set_xticks(ticks, [eras[t] for t in ticks], fontsize=8)
    ax.set_xlim(-0.5, max(len(eras) - 0.5, 0.5))
    return fig, ax


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _line(ax: Axes, x: np.ndarray, y: np.ndarray, **style: object) -> None:
    """A line with gaps where ``y`` is NaN; a point with no neighbour is drawn as a dot."""
    (line,) = ax.plot(x, y, **style)  # type: ignore[arg-type]
    finite = np.isfinite(y)
    alone = finite & ~np.r_[False, finite[:-1]] & ~np.r_[finite[1:], False]
    if alone.any():
        ax.plot(x[alone], y[alone], "o", markersize=3, color=line.get_color(),
                zorder=line.get_zorder())  # fmt: skip


def _style(k: int) -> dict[str, object]:
    """The colour and dashes of the ``k``-th column that is not the ensemble."""
    return {"color": _COLOURS[k % len(_COLOURS)],
            "linestyle": _DASHES[k // len(_COLOURS) % len(_DASHES)]}  # fmt: skip


def _lines(report: ScoreReport, ax: Axes, x: np.ndarray, y: np.ndarray) -> None:
    """One line per column; the ensemble column thick and dark on top, the others each in
    a colour (and past ten, dashes) of its own. The legend names only the columns drawn
    (a column without a score here has no line); with more than :data:`_LEGEND_INSIDE` of
    them it goes below the axes, off the lines."""
    names = []
    others = 0
    for j, col in enumerate(report.columns):
        scored = bool(np.isfinite(y[:, j]).any())
        name = label(col) if scored else "_nolegend_"
        names += [name] if scored else []
        if col == ENSEMBLE:
            _line(ax, x, y[:, j], color=_FOCUS, linewidth=2.4, label=name, zorder=3)
        else:  # its style counted even if not drawn: a column looks alike in every plot
            _line(ax, x, y[:, j], linewidth=1.2, alpha=0.85, label=name, zorder=2,
                  **_style(others))  # fmt: skip
            others += 1
    if len(names) > _LEGEND_INSIDE:
        _legend_below(ax, names)
    elif len(names) > 1:
        ax.legend(fontsize=8, loc="upper left", ncols=len(names), frameon=False)


def _legend_below(ax: Axes, names: list[str]) -> None:
    """The legend under the axes, in as many columns (up to six) as fit the figure's
    width, the figure made taller by its rows (the axes keep their height)."""
    fig = ax.get_figure()
    assert isinstance(fig, Figure)
    width, height = _SIZE
    per_row = next(n for n in range(min(6, len(names)), 0, -1)
                   if _legend_px(names, n) <= width * DPI or n == 1)  # fmt: skip
    rows = -(-len(names) // per_row)
    fig.set_size_inches(width, height + rows * _LEGEND_ROW_IN)
    fig.legend(fontsize=8, loc="outside lower center", ncols=per_row, frameon=False)


def _legend_px(names: list[str], columns: int) -> float:
    """About how wide a legend of ``names`` in ``columns`` is (filled column by column,
    each as wide as its longest name), in pixels."""
    rows = -(-len(names) // columns)
    parts = [names[i : i + rows] for i in range(0, len(names), rows)]
    return sum(max(map(len, part)) * _CHAR_PX + _ENTRY_PX for part in parts)


def _bars(ax: Axes, x: np.ndarray, v: np.ndarray, alpha: float) -> None:
    """Per-era bars, green up and red down; many eras as two stair fills (not 600 patches)."""
    v = np.nan_to_num(v)
    if len(x) <= _MAX_BAR_PATCHES:
        ax.bar(x, v, width=0.8, color=np.where(v >= 0, _UP, _DOWN), alpha=alpha, linewidth=0)
        return
    edges = np.append(x - 0.5, x[-1] + 0.5)
    for part, color in ((np.fmax(v, 0.0), _UP), (np.fmin(v, 0.0), _DOWN)):
        ax.stairs(part, edges, baseline=0.0, fill=True, color=color, alpha=alpha, linewidth=0)


Draw = Callable[[ScoreReport, list[str], str], Figure]


def _cum_plot(metric: str, name: str) -> Draw:
    def draw(report: ScoreReport, eras: list[str], unit: str) -> Figure:
        fig, ax = _axes(eras, f"Cumulative {name} per {unit}", f"cumulative {name}", unit)
        _lines(report, ax, np.arange(len(eras)), _cumulative(_aligned(report, metric, eras)))
        return fig

    return draw


def _focus_values(report: ScoreReport, metric: str, eras: list[str]) -> tuple[str, np.ndarray]:
    """The focus column's name (as plot text) and its (E,) values of ``metric``."""
    col = focus_column(report)
    return label(col), _aligned(report, metric, eras)[:, report.columns.index(col)]


def _corr_bars(report: ScoreReport, eras: list[str], unit: str) -> Figure:
    col, v = _focus_values(report, "corr", eras)
    fig, ax = _axes(eras, f"CORR per {unit}: {col}", "CORR", unit)
    x = np.arange(len(eras))
    _bars(ax, x, v, alpha=0.55)
    mean = np.where(np.isfinite(v), rolling_mean(v), np.nan)  # no line across unscored eras
    if np.isfinite(mean).any():  # too few eras for it: no line, and no legend naming one
        _line(ax, x, mean, color=_FOCUS, linewidth=1.8, label=f"{ROLLING_ERAS}-{unit} mean")
        ax.legend(fontsize=8, loc="upper left", frameon=False)
    return fig


def _drawdown(report: ScoreReport, eras: list[str], unit: str) -> Figure:
    col, v = _focus_values(report, "corr", eras)
    dd = drawdown(v)
    fig, ax = _axes(eras, f"Drawdown of cumulative CORR: {col}", "drawdown", unit)
    x = np.arange(len(eras))
    # masked, not zeroed: an era without a score is a gap, not a drawdown of 0
    ax.fill_between(x, np.ma.masked_invalid(dd), 0.0, color=_DOWN, alpha=0.35, linewidth=0)
    _line(ax, x, dd, color=_DOWN, linewidth=1.0)
    return fig


def _exposure(report: ScoreReport, eras: list[str], unit: str) -> Figure:
    fig, ax = _axes(eras, f"Max feature exposure per {unit}", "max |corr| with a feature", unit)
    _lines(report, ax, np.arange(len(eras)), _aligned(report, "feature_exposure", eras))
    return fig


def _payout(report: ScoreReport, eras: list[str], unit: str) -> Figure:
    col, v = _focus_values(report, "payout", eras)
    fig, ax = _axes(eras, f"Payout per {unit} (fraction of stake): {col}", "payout / stake", unit)
    x = np.arange(len(eras))
    _bars(ax, x, v, alpha=0.7)
    return fig


#: (key, title, metric that must be computed, drawing function), in page order.
_PLOTS: tuple[tuple[str, str, str, Draw], ...] = (
    ("corr_cumulative", "Cumulative CORR", "corr", _cum_plot("corr", "CORR")),
    ("mmc_cumulative", "Cumulative MMC", "mmc", _cum_plot("mmc", "MMC")),
    ("corr_per_era", "CORR per era", "corr", _corr_bars),
    ("corr_drawdown", "Drawdown", "corr", _drawdown),
    ("feature_exposure", "Feature exposure", "feature_exposure", _exposure),
    ("payout", "Payout per era", "payout", _payout),
)


def expected_plots(report: ScoreReport) -> list[str]:
    """Keys of the plots :func:`render_plots` draws for this report, in order."""
    return [key for key, _, metric, _ in _PLOTS if metric in report.metrics]


def render_plots(
    report: ScoreReport, keys: tuple[str, ...] | None = None, x_label: str = "era"
) -> list[Plot]:
    """Every plot the report's metrics allow (or those of ``keys``), as PNG bytes."""
    eras = all_eras(report)
    out = []
    for key, title, metric, draw in _PLOTS:
        if metric in report.metrics and (keys is None or key in keys):
            fig = draw(report, eras, x_label)
            out.append(Plot(key, title, _png(fig)))
    return out
