"""score_frame / ScoreReport, summaries and payout."""

from __future__ import annotations

import json

import numpy as np
import pytest

from numerpilot.config import ScoringConfig
from numerpilot.errors import DataError
from numerpilot.scoring import (
    PerEra,
    autocorrelation,
    max_drawdown,
    payout,
    per_era_corr,
    per_era_mmc,
    score_frame,
    summarize,
)


def make(seed: int = 0, n_eras: int = 6, rows: int = 80, k: int = 2) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = n_eras * rows
    signal = rng.normal(size=n)
    return {
        "preds": signal[:, None] + rng.normal(size=(n, k)),
        "target": np.digitize(signal + rng.normal(size=n), [-1.5, -0.5, 0.5, 1.5]) / 4,
        "eras": np.repeat([f"{e:04d}" for e in range(n_eras)], rows),
        "meta": signal + rng.normal(size=n),
        "features": rng.integers(0, 5, (n, 5)).astype(np.int8),
    }


def test_summary_statistics() -> None:
    v = np.array([0.02, -0.01, 0.03, -0.04, 0.01])
    s = summarize(v)
    assert s["mean"] == pytest.approx(0.002)
    assert s["std"] == pytest.approx(np.std(v))  # ddof=0
    assert s["sharpe"] == pytest.approx(0.002 / np.std(v))
    assert s["max_drawdown"] == pytest.approx(0.04)  # cumsum peaks at 0.04, falls to 0.00
    assert s["positive_share"] == pytest.approx(0.6)
    assert s["autocorr"] == pytest.approx(np.corrcoef(v[:-1], v[1:])[0, 1])
    assert s["n_eras"] == 5


def test_summary_leaves_out_nan_eras_and_handles_edges() -> None:
    assert summarize(np.array([0.1, np.nan, 0.3]))["n_eras"] == 2
    assert np.isnan(summarize(np.array([0.1]))["sharpe"])
    assert summarize(np.array([]))["n_eras"] == 0
    assert max_drawdown(np.array([0.1, 0.2])) == 0.0
    assert np.isnan(autocorrelation(np.array([1.0, 2.0])))


def test_payout_formula_and_clip() -> None:
    eras = np.array(["a", "b", "c"])
    corr = PerEra(eras, np.array([[0.02], [0.1], [-0.1]]))
    mmc = PerEra(eras[1:], np.array([[0.01], [0.0]]))
    out = payout(corr, mmc, corr_multiplier=0.5, mmc_multiplier=2.0, clip=0.05)
    assert out.eras.tolist() == ["b", "c"]
    np.testing.assert_allclose(out.values[:, 0], [0.05, -0.05])
    out = payout(corr, mmc, clip=1.0)
    np.testing.assert_allclose(out.values[:, 0], [0.75 * 0.1 + 2.25 * 0.01, -0.075])


def test_score_frame_all_metrics_and_json_shape() -> None:
    d = make()
    report = score_frame(
        d["preds"], d["target"], d["eras"], columns=["a", "b"], meta_model=d["meta"],
        benchmark=d["meta"], features=d["features"],
    )  # fmt: skip
    corr = per_era_corr(d["preds"], d["target"], d["eras"])
    np.testing.assert_array_equal(report.metrics["corr"].values, corr.values)
    out = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert set(out) == {"a", "b"}
    summary = out["a"]["summary"]
    for key in ("corr_mean", "corr_std", "corr_sharpe", "corr_max_drawdown",
                "corr_positive_share", "n_eras", "mmc_mean", "mmc_std", "mmc_sharpe",
                "bmc_mean", "fnc_mean", "max_feature_exposure", "payout_mean"):  # fmt: skip
        assert summary[key] is not None, key
    assert summary["n_eras"] == 6
    assert summary["corr_mean"] == pytest.approx(corr.values[:, 0].mean())
    assert set(out["a"]["per_era"]) >= {"corr", "mmc", "bmc", "fnc"}
    assert list(out["a"]["per_era"]["corr"]) == [f"{e:04d}" for e in range(6)]
    # BMC against the meta model column is MMC
    assert summary["bmc_mean"] == pytest.approx(summary["mmc_mean"])


def test_score_frame_uses_config_multipliers() -> None:
    d = make(1)
    cfg = ScoringConfig.model_validate(
        {"payout_corr_multiplier": 1.0, "payout_mmc_multiplier": 0.0, "payout_clip": 1.0}
    )
    report = score_frame(d["preds"], d["target"], d["eras"], meta_model=d["meta"], config=cfg)
    np.testing.assert_allclose(
        report.metrics["payout"].values, report.metrics["corr"].values, rtol=0, atol=1e-15
    )


def test_columns_with_different_missing_rows_are_scored_separately() -> None:
    d = make(2, k=2)
    preds = d["preds"].copy()
    preds[:10, 1] = np.nan  # 10 of 80 rows of era 0000 missing in column b only
    report = score_frame(preds, d["target"], d["eras"], meta_model=d["meta"])
    alone = per_era_corr(d["preds"][:, 0], d["target"], d["eras"])
    np.testing.assert_allclose(report.metrics["corr"].values[:, 0], alone.values[:, 0], atol=1e-15)
    mmc_b = per_era_mmc(preds[:, 1], d["meta"], d["target"], d["eras"])
    np.testing.assert_allclose(report.metrics["mmc"].values[:, 1], mmc_b.values[:, 0], atol=1e-15)


def test_meta_model_without_coverage_is_noted_not_nan() -> None:
    d = make(3)
    meta = d["meta"].copy()
    meta[d["eras"] < "0002"] = np.nan
    report = score_frame(d["preds"], d["target"], d["eras"], meta_model=meta)
    assert report.metrics["mmc"].skipped == ("0000", "0001")
    assert any("MMC: 2 eras skipped" in n and "0000, 0001" in n for n in report.notes)
    assert report.summary("p0")["mmc_n_eras"] == 4
    none = score_frame(d["preds"], d["target"], d["eras"], meta_model=np.full_like(meta, np.nan))
    assert "mmc" not in none.metrics
    assert any("covers no scored era" in n for n in none.notes)


def test_skip_notes_give_each_era_its_true_reason() -> None:
    """An era without targets is CORR's to explain; MMC names only the eras CORR scores
    that the meta model does not cover, so its count adds up with mmc_n_eras."""
    d = make(3)
    target, meta = d["target"].copy(), d["meta"].copy()
    target[d["eras"] == "0005"] = np.nan  # the meta model covers it; the target does not
    meta[d["eras"] < "0002"] = np.nan
    report = score_frame(d["preds"], target, d["eras"], meta_model=meta, benchmark=meta)
    assert report.notes == (
        "CORR: 1 era skipped (targets or predictions missing): 0005",
        "MMC: 2 eras skipped (scored by CORR, but the meta model is missing for too many of "
        "their rows): 0000, 0001",
        "BMC: 2 eras skipped (scored by CORR, but the benchmark is missing for too many of "
        "their rows): 0000, 0001",
    )
    summary = report.summary("p0")
    assert summary["n_eras"] == 5 and summary["mmc_n_eras"] == 5 - 2


def test_skip_notes_name_the_columns_they_are_about() -> None:
    """Columns that skip different eras get a note each, naming them; a column that
    skips none is in no note."""
    d = make(2, k=3)
    preds = d["preds"].copy()
    preds[d["eras"] == "0003", 1] = np.nan  # column p1 has no predictions in 0003
    preds[d["eras"] == "0004", 2] = np.nan  # column p2 none in 0004
    meta = d["meta"].copy()
    meta[d["eras"] == "0000"] = np.nan
    report = score_frame(preds, d["target"], d["eras"], meta_model=meta)
    assert report.notes == (
        "CORR of p1: 1 era skipped (targets or predictions missing): 0003",
        "CORR of p2: 1 era skipped (targets or predictions missing): 0004",
        "MMC: 1 era skipped (scored by CORR, but the meta model is missing for too many of "
        "their rows): 0000",
    )
    assert [report.summary(c)["n_eras"] for c in ("p0", "p1", "p2")] == [6, 5, 5]
    same = preds.copy()
    same[d["eras"] == "0004", 1] = np.nan
    same[d["eras"] == "0003", 2] = np.nan  # both skip 0003 and 0004, p0 skips nothing
    (note,) = score_frame(same, d["target"], d["eras"]).notes
    assert note == "CORR of p1, p2: 2 eras skipped (targets or predictions missing): 0003, 0004"


@pytest.mark.parametrize(("column", "message"), [(np.nan, "all NaN"), (0.5, "is constant")])
def test_bad_prediction_columns_raise(column: float, message: str) -> None:
    d = make(4, k=1)
    preds = np.full((len(d["target"]), 1), column)
    with pytest.raises(DataError, match=message):
        score_frame(preds, d["target"], d["eras"], columns=["x"])


def test_no_scorable_era_raises() -> None:
    d = make(5, k=1)
    with pytest.raises(DataError, match="no era could be scored"):
        score_frame(d["preds"], np.full(len(d["target"]), np.nan), d["eras"])


def test_eras_with_undefined_corr_are_named() -> None:
    """Constant predictions in one era: CORR is undefined there (numerai-tools gives NaN);
    the summaries leave it out and a note says which era and why."""
    d = make(3, k=2)
    preds = d["preds"].copy()
    preds[d["eras"] == "0004", 1] = 0.5
    report = score_frame(preds, d["target"], d["eras"])
    assert report.notes == (
        "CORR of p1: 1 era left out (the predictions or the target are constant there): 0004",
    )
    assert [report.summary(c)["n_eras"] for c in ("p0", "p1")] == [6, 5]
    target = d["target"].copy()
    target[d["eras"] == "0002"] = 1.0  # a constant target: every column
    (note,) = score_frame(d["preds"], target, d["eras"]).notes
    assert note.startswith("CORR: 1 era left out") and note.endswith(": 0002")


def _with_era(
    d: dict[str, np.ndarray], era: str, rows: int, seed: int = 9
) -> dict[str, np.ndarray]:
    """``d`` with one more era of ``rows`` rows (every input known there)."""
    rng = np.random.default_rng(seed)
    n = rows
    return {
        "preds": np.vstack([d["preds"], rng.normal(size=(n, d["preds"].shape[1]))]),
        "target": np.append(d["target"], rng.integers(0, 5, n) / 4),
        "eras": np.append(d["eras"], [era] * n),
        "meta": np.append(d["meta"], rng.normal(size=n)),
        "features": np.vstack([d["features"], rng.integers(0, 5, (n, 5)).astype(np.int8)]),
    }


def test_an_era_of_one_row_is_said_to_have_too_few_rows() -> None:
    d = _with_era(make(3), "0099", rows=1)
    report = score_frame(d["preds"], d["target"], d["eras"], meta_model=d["meta"])
    assert report.notes == (
        "CORR: 1 era skipped (too few rows: a correlation needs at least 2): 0099",
    )
    assert report.summary("p0")["n_eras"] == 6


def test_fnc_eras_with_no_more_rows_than_features_are_noted() -> None:
    d = _with_era(make(3), "0099", rows=4)  # 4 rows, 5 features: nothing left neutralized
    report = score_frame(d["preds"], d["target"], d["eras"], features=d["features"])
    assert report.notes == (
        "FNC: 1 era left out (no more rows than the 5 features, so neutralizing leaves "
        "nothing): 0099",
    )
    summary = report.summary("p0")
    assert summary["n_eras"] == 7 and summary["fnc_n_eras"] == 6


def test_mmc_and_bmc_leave_out_the_eras_where_corr_is_undefined() -> None:
    """A constant target gives an MMC of 0: no score, so MMC counts no more eras than CORR."""
    d = make(3)
    target = d["target"].copy()
    target[d["eras"] == "0002"] = 1.0
    report = score_frame(d["preds"], target, d["eras"], meta_model=d["meta"], benchmark=d["meta"])
    summary = report.summary("p0")
    assert summary["n_eras"] == summary["mmc_n_eras"] == summary["bmc_n_eras"] == 5
    era = list(report.metrics["mmc"].eras).index("0002")
    assert np.isnan(report.metrics["mmc"].values[era]).all()
    assert np.isnan(report.metrics["bmc"].values[era]).all()


def test_eras_where_the_meta_model_or_benchmark_is_constant_are_named() -> None:
    """A meta model (benchmark) constant in an era: MMC (BMC) is undefined there (NaN, as in
    numerai-tools) while CORR scores it; a note says which era and why (it said nothing, so
    mmc_n_eras was one short with no reason given)."""
    d = make(3)
    meta, bench = d["meta"].copy(), d["meta"].copy()
    meta[d["eras"] == "0004"] = 0.5
    bench[d["eras"] == "0001"] = 0.25
    report = score_frame(d["preds"], d["target"], d["eras"], meta_model=meta, benchmark=bench)
    assert report.notes == (
        "MMC: 1 era left out (scored by CORR, but the meta model is constant there): 0004",
        "BMC: 1 era left out (scored by CORR, but the benchmark is constant there): 0001",
    )
    summary = report.summary("p0")
    assert (summary["n_eras"], summary["mmc_n_eras"], summary["bmc_n_eras"]) == (6, 5, 5)


def test_skipped_eras_are_logged_once_at_info(caplog: pytest.LogCaptureFixture) -> None:
    d = make(3, k=3)
    preds, meta = d["preds"].copy(), d["meta"].copy()
    preds[:5, 1] = np.nan  # three groups of columns, each scored on its own
    preds[5:10, 2] = np.nan
    meta[d["eras"] < "0002"] = np.nan
    with caplog.at_level("INFO", logger="numerpilot"):
        score_frame(preds, d["target"], d["eras"], meta_model=meta)
    info = [r.getMessage() for r in caplog.records if r.levelno >= 20 and "skipped" in r.message]
    assert info == [
        "MMC: 2 eras skipped (scored by CORR, but the meta model is missing for too many of "
        "their rows): 0000, 0001"
    ]
