"""HTML validation report on real synthetic data and real scoring."""

from __future__ import annotations

import base64
import re
from html import escape
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from numerpilot.data import layout
from numerpilot.data.synthetic import SyntheticSpec, generate
from numerpilot.report import page, write_validation_report
from numerpilot.report.plots import _aligned, all_eras, drawdown, expected_plots, rolling_mean
from numerpilot.scoring.report import ScoreReport, format_metric, score_frame

SPEC = SyntheticSpec(
    train_eras=30, validation_eras=20, rows_per_era=100, n_features=30, live_rows=10, seed=1
)
COLUMNS = ("model_a", "model_b", "ensemble")
CONTEXT = {"data version": "v5.2", "feature set": "small", "targets": "target, target_victor_20"}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def inputs() -> dict[str, np.ndarray]:
    files = generate(SPEC)
    val = files[layout.VALIDATION]
    meta = files[layout.META_MODEL]
    assert isinstance(val, pd.DataFrame) and isinstance(meta, pd.DataFrame)
    rng = np.random.default_rng(0)
    target = val[layout.MAIN_TARGET].to_numpy(np.float64)
    base = np.nan_to_num(target, nan=0.5)
    preds = np.column_stack([base + rng.normal(scale=s, size=len(base)) for s in (6.0, 9.0)])
    preds = np.column_stack([preds, preds.mean(axis=1)])
    feats = [c for c in val.columns if c.startswith("feature_")]
    return {
        "preds": preds,
        "target": target,
        "eras": val[layout.ERA].to_numpy(),
        "meta": meta[layout.META_MODEL_COLUMN].reindex(val.index).to_numpy(np.float64),
        "features": val[feats].to_numpy(),
    }


@pytest.fixture(scope="module")
def full(inputs: dict[str, np.ndarray]) -> ScoreReport:
    return score_frame(
        inputs["preds"],
        inputs["target"],
        inputs["eras"],
        columns=COLUMNS,
        meta_model=inputs["meta"],
        features=inputs["features"],
    )


@pytest.fixture(scope="module")
def bare(inputs: dict[str, np.ndarray]) -> ScoreReport:
    """CORR only: no meta model, no features."""
    cols = ("a <script>alert(1)</script>", "b & c")
    return score_frame(inputs["preds"][:, :2], inputs["target"], inputs["eras"], columns=cols)


def _plots(text: str) -> list[str]:
    return re.findall(r'<figure data-plot="([a-z_]+)"><img ', text)


def test_full_report_has_everything(full: ScoreReport, tmp_path: Path) -> None:
    dest = write_validation_report(
        full, tmp_path / "out" / "v.html", title="Validation", context=CONTEXT
    )
    assert dest == tmp_path / "out" / "v.html"
    text = dest.read_text("utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert "<script" not in text and "http://" not in text and "https://" not in text
    for col in COLUMNS:
        assert f"<th>{col}</th>" in text or f'<th class="focus">{col}</th>' in text
    for key, value in CONTEXT.items():
        assert f"<th>{key}</th><td>{value}</td>" in text
    for col in COLUMNS:  # every summary number, formatted as the CLI does
        for key, value in full.summary(col).items():
            assert f">{format_metric(key, value)}</td>" in text, (col, key)
    keys = ["corr_cumulative", "mmc_cumulative", "corr_per_era", "corr_drawdown"]
    keys += ["feature_exposure", "payout"]
    assert _plots(text) == keys == expected_plots(full)
    assert text.count("<img ") == len(keys)
    for data in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text):
        assert base64.b64decode(data).startswith(PNG_MAGIC)
    assert len(full.notes) > 0  # the meta model covers only the later eras
    for note in full.notes:
        assert escape(note) in text
    assert len(text.encode()) < 1_000_000


def test_formats_and_nan() -> None:
    assert format_metric("corr_sharpe", 1.23456) == "1.23"
    assert format_metric("corr_positive_share", 0.6) == "60%"
    assert format_metric("corr_mean", 0.012345) == "0.0123"
    assert format_metric("n_eras", 20) == "20"
    assert format_metric("mmc_mean", float("nan")) == "–"
    assert format_metric("mmc_mean", None) == "–"


def test_no_plots_for_metrics_not_computed_and_escaping(bare: ScoreReport, tmp_path: Path) -> None:
    title = 'Run <b>"x"</b>'
    dest = write_validation_report(
        bare, tmp_path / "v.html", title=title, context={"k<i>": "v&<script>"}
    )
    text = dest.read_text("utf-8")
    assert _plots(text) == ["corr_cumulative", "corr_per_era", "corr_drawdown"]
    words = re.sub(r'base64,[^"]+', "", text)  # a PNG's base64 can spell "MMC" by chance
    assert "MMC" not in words and "payout" not in words.lower()
    assert "<script" not in text and "<b>" not in text and "<i>" not in text
    assert "a &lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "b &amp; c" in text
    assert "Run &lt;b&gt;&quot;x&quot;&lt;/b&gt;" in text
    assert "<th>k&lt;i&gt;</th><td>v&amp;&lt;script&gt;</td>" in text


def test_atomic_and_failure_leaves_no_file(
    bare: ScoreReport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "v.html"
    write_validation_report(bare, dest, title="t", context={})
    assert [p.name for p in tmp_path.iterdir()] == ["v.html"]

    def boom(_: ScoreReport) -> list[object]:
        raise RuntimeError("render failed")

    monkeypatch.setattr(page, "render_plots", boom)
    before = dest.read_bytes()
    with pytest.raises(RuntimeError, match="render failed"):
        write_validation_report(bare, dest, title="t2", context={})
    assert dest.read_bytes() == before  # the old report is untouched
    fresh = tmp_path / "new" / "v.html"
    with pytest.raises(RuntimeError):
        write_validation_report(bare, fresh, title="t", context={})
    assert not fresh.exists()
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["v.html"]


def test_pyplot_state_untouched(bare: ScoreReport, tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    backend = matplotlib.get_backend()
    rc = dict(matplotlib.rcParams)
    write_validation_report(bare, tmp_path / "v.html", title="t", context={})
    assert plt.get_fignums() == []
    assert matplotlib.get_backend() == backend
    assert dict(matplotlib.rcParams) == rc


def test_no_pyplot_import(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys; import numerpilot.report, numerpilot.report.plots; "
        "assert 'matplotlib.pyplot' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_era_axis_and_rolling_mean(full: ScoreReport) -> None:
    eras = all_eras(full)
    assert eras == sorted(eras) and eras[0] == full.metrics["corr"].eras[0]
    assert set(map(str, full.metrics["mmc"].eras)) < set(eras)  # MMC on later eras only
    corr = _aligned(full, "corr", eras)
    for j, col in enumerate(full.columns):  # the plotted drawdown matches the summary
        assert -np.nanmin(drawdown(corr[:, j])) == pytest.approx(
            full.summary(col)["corr_max_drawdown"]
        )
    v = np.array([1.0, np.nan, 3.0, 5.0, 7.0])
    r = rolling_mean(v, window=2)
    assert r[1] == 1.0  # a NaN era is skipped
    assert r[3] == 4.0 and r[4] == 6.0


def test_large_report_is_fast_and_small(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    eras = np.array([f"{e:04d}" for e in range(575, 575 + 620)])
    vals = rng.normal(0.02, 0.03, (620, 5))
    from numerpilot.scoring.per_era import PerEra

    cols = ("a", "b", "c", "d", "ensemble")
    report = ScoreReport(
        columns=cols,
        metrics={
            "corr": PerEra(eras, vals),
            "mmc": PerEra(eras[200:], vals[200:] / 3),
            "feature_exposure": PerEra(eras, np.abs(vals) * 5),
            "payout": PerEra(eras[200:], vals[200:]),
            "corr_with_meta": PerEra(eras[200:], vals[200:] * 10),
        },
    )
    dest = write_validation_report(report, tmp_path / "big.html", title="big", context={})
    assert dest.stat().st_size < 1_000_000
    assert dest.read_text("utf-8").count("<img ") == 6


def test_plots_take_any_name_and_show_gaps_and_lone_points(tmp_path: Path) -> None:
    from numerpilot.report.plots import _axes, _cumulative, _lines
    from numerpilot.scoring.per_era import PerEra

    cols = (r"target_$\bad$_20", "_hidden", "cost$5_and$6")
    eras = np.array(["era9", "era10", "era11", "era12"])
    corr = np.array([[0.1, np.nan, 0.1], [np.nan, 0.2, 0.1], [0.1, np.nan, np.nan],
                     [0.1, np.nan, 0.1]])  # fmt: skip
    report = ScoreReport(cols, {"corr": PerEra(eras, corr)})
    write_validation_report(report, tmp_path / "odd.html", title="odd", context={})  # no crash
    assert all_eras(report) == ["era9", "era10", "era11", "era12"]  # as numbers, not text
    cum = _cumulative(corr)
    assert np.isnan(cum[1, 0]) and cum[2, 0] == pytest.approx(0.2)  # a gap, not a flat step
    _, ax = _axes(list(eras), "t", "y", "era")
    _lines(report, ax, np.arange(4), cum)
    texts = [t.get_text() for t in ax.legend().get_texts()]
    assert texts == [r"target_\$\bad\$_20", "\u200b_hidden", r"cost\$5_and\$6"]
    dots = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert [list(d.get_xdata()) for d in dots] == [[0], [1], [3]]  # no neighbour scored


def test_too_few_eras_for_a_rolling_mean_name_no_line() -> None:
    """Fewer eras than half the window: no 20-era mean is drawn, nor named in a legend."""
    from numerpilot.report.plots import _corr_bars
    from numerpilot.scoring.per_era import PerEra

    eras = [f"{e:04d}" for e in range(1, 9)]
    report = ScoreReport(("ensemble",), {"corr": PerEra(np.array(eras), np.full((8, 1), 0.02))})
    assert _corr_bars(report, eras, "era").axes[0].get_legend() is None
    longer = [f"{e:04d}" for e in range(1, 31)]
    report = ScoreReport(("ensemble",), {"corr": PerEra(np.array(longer), np.full((30, 1), 0.02))})
    (text,) = _corr_bars(report, longer, "era").axes[0].get_legend().get_texts()
    assert text.get_text() == "20-era mean"


def test_a_table_wider_than_the_page_scrolls_inside_it() -> None:
    """Many members (validate) or models (status) make tables wider than the 1,000 px
    page: they scroll sideways in their place instead of running off the page."""
    from numerpilot.report.page import CSS

    (rule,) = re.findall(r"(?:^|\})table\{([^}]*)\}", CSS.replace("\n", ""))
    assert {"display:block", "max-width:100%", "overflow-x:auto"} <= set(rule.split(";"))
