"""``numerpilot score`` on the synthetic dataset."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from numerpilot.cli.commands import app
from numerpilot.scoring import per_era_corr


@pytest.fixture(scope="module")
def preds_file(synthetic_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    val = pd.read_parquet(synthetic_dir / "validation.parquet")
    feats = [c for c in val.columns if c.startswith("feature_")]
    rng = np.random.default_rng(0)
    out = pd.DataFrame(
        {
            "lin": val[feats[:5]].sum(axis=1) + rng.normal(size=len(val)),
            "noise": rng.random(len(val)),
        },
        index=val.index,
    )
    path = tmp_path_factory.mktemp("preds") / "preds.parquet"
    out.sample(frac=1.0, random_state=1).to_parquet(path)  # unsorted ids
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    code = "from numerpilot.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)


def test_score_json_every_metric(synthetic_dir: Path, preds_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "scores.json"
    result = CliRunner().invoke(
        app,
        ["score", str(preds_file), "--data", str(synthetic_dir / "validation.parquet"),
         "--meta-model", str(synthetic_dir / "meta_model.parquet"),
         "--benchmark", str(synthetic_dir / "validation_benchmark_models.parquet"),
         "--benchmark-col", "v52_lgbm_cyrusd20", "--features", "small", "--json", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    scores = json.loads(out.read_text())
    assert set(scores) == {"lin", "noise"}
    summary = scores["lin"]["summary"]
    assert summary["n_eras"] == 16
    assert summary["mmc_n_eras"] < 16  # the synthetic meta model covers later eras only
    assert summary["corr_mean"] > summary["fnc_mean"] - 1  # both present and numeric
    assert {"mmc_mean", "bmc_mean", "fnc_mean", "max_feature_exposure"} <= set(summary)
    per_era = scores["lin"]["per_era"]
    assert len(per_era["corr"]) == 16
    assert len(per_era["mmc"]) == summary["mmc_n_eras"]
    # the same numbers as the library
    val = pd.read_parquet(synthetic_dir / "validation.parquet")
    preds = pd.read_parquet(preds_file).loc[val.index]
    lib = per_era_corr(preds.to_numpy(), val["target"].to_numpy(), val["era"].to_numpy())
    np.testing.assert_allclose(list(per_era["corr"].values()), lib.values[:, 0], atol=1e-12)


def test_score_table_and_csv(synthetic_dir: Path, preds_file: Path, tmp_path: Path) -> None:
    csv = tmp_path / "preds.csv"
    pd.read_parquet(preds_file).reset_index().to_csv(csv, index=False)
    result = CliRunner().invoke(
        app, ["score", str(csv), "--data", str(synthetic_dir / "validation.parquet")]
    )
    assert result.exit_code == 0, result.output
    assert "CORR mean" in result.output
    assert "lin" in result.output


def test_score_errors_are_one_line(synthetic_dir: Path, preds_file: Path, tmp_path: Path) -> None:
    data = str(synthetic_dir / "validation.parquet")
    wrong = tmp_path / "wrong.csv"
    pd.DataFrame({"id": ["a", "b"], "prediction": [0.1, 0.2]}).to_csv(wrong, index=False)
    result = run("score", str(wrong), "--data", data)
    assert result.returncode == 1
    assert "no id of the predictions matches" in result.stderr
    assert "Traceback" not in result.stderr
    no_era = tmp_path / "noera.parquet"
    pd.read_parquet(synthetic_dir / "validation.parquet")[["target"]].to_parquet(no_era)
    result = run("score", str(preds_file), "--data", str(no_era))
    assert result.returncode == 1
    assert "no 'era' column" in result.stderr
    meta = tmp_path / "meta.parquet"
    pd.DataFrame({"numerai_meta_model": [0.5]}, index=pd.Index(["zz"], name="id")).to_parquet(meta)
    result = run("score", str(preds_file), "--data", data, "--meta-model", str(meta))
    assert result.returncode == 1
    assert "meta model" in result.stderr
    result = run("score", str(preds_file), "--data", data, "--benchmark-col", "x")
    assert result.returncode == 2


def test_score_csv_data_with_features_all(synthetic_dir: Path, tmp_path: Path) -> None:
    """A CSV data file without features.json: ``--features all`` neutralizes against its
    feature_ columns, with the same scores as the same data in parquet."""
    val = pd.read_parquet(synthetic_dir / "validation.parquet")
    feats = [c for c in val.columns if c.startswith("feature_")]
    val[["era", "target", *feats]].to_parquet(tmp_path / "v.parquet")
    val[["era", "target", *feats]].to_csv(tmp_path / "v.csv")
    preds = tmp_path / "p.csv"
    rng = np.random.default_rng(0)
    pd.DataFrame({"p": val[feats[0]] + rng.random(len(val))}, index=val.index).to_csv(preds)
    scores = {}
    for data in ("v.csv", "v.parquet"):
        out = tmp_path / f"{data}.json"
        result = run("score", str(preds), "--data", str(tmp_path / data), "--features", "all",
                     "--json", str(out), "-C", str(tmp_path))  # fmt: skip
        assert result.returncode == 0, result.stderr
        scores[data] = json.loads(out.read_text())["p"]
    assert scores["v.csv"]["per_era"]["fnc"]
    assert scores["v.csv"] == scores["v.parquet"]


def test_meta_model_col_chooses_the_meta_model(
    synthetic_dir: Path, preds_file: Path, tmp_path: Path
) -> None:
    """``--meta-model-col`` picks a column of a file with several: the same MMC as a meta
    model file holding only that column."""
    bench = synthetic_dir / "validation_benchmark_models.parquet"
    only = tmp_path / "meta.parquet"
    frame = pd.read_parquet(bench, columns=["v52_lgbm_cyrusd20"])
    frame.rename(columns={"v52_lgbm_cyrusd20": "numerai_meta_model"}).to_parquet(only)
    data = str(synthetic_dir / "validation.parquet")
    scores = []
    for extra in (["--meta-model", str(bench), "--meta-model-col", "v52_lgbm_cyrusd20"],
                  ["--meta-model", str(only)]):  # fmt: skip
        out = tmp_path / f"{len(scores)}.json"
        result = CliRunner().invoke(
            app, ["score", str(preds_file), "--data", data, *extra, "--json", str(out)]
        )
        assert result.exit_code == 0, result.output
        scores.append(json.loads(out.read_text()))
    assert scores[0]["lin"]["per_era"]["mmc"]
    assert scores[0] == scores[1]


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_validation_file_with_a_prediction_column_scores_that_column(
    synthetic_dir: Path, preds_file: Path, tmp_path: Path, suffix: str
) -> None:
    """validation.parquet with a prediction column added (a common way to keep them):
    only that column is scored, not every feature and target, with the numbers of the
    plain predictions file, and a warning names the columns left out."""
    val = pd.read_parquet(synthetic_dir / "validation.parquet")
    val["lin"] = pd.read_parquet(preds_file)["lin"]
    both = tmp_path / f"val_with_preds{suffix}"
    val.to_parquet(both) if suffix == ".parquet" else val.to_csv(both)
    data = str(synthetic_dir / "validation.parquet")
    result = run("score", str(both), "--data", data, "--json", str(tmp_path / "b.json"),
                 "-C", str(tmp_path))  # fmt: skip
    assert result.returncode == 0, result.stderr
    n_data = sum(c.startswith(("feature_", "target")) for c in val.columns)
    assert f"PRED: {n_data} feature and target column(s) are data" in result.stderr
    assert "scoring its 1 other column(s)" in result.stderr
    scores = json.loads((tmp_path / "b.json").read_text())
    assert list(scores) == ["lin"]
    result = run("score", str(preds_file), "--data", data, "--json", str(tmp_path / "p.json"),
                 "-C", str(tmp_path))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "PRED:" not in result.stderr
    assert scores["lin"] == json.loads((tmp_path / "p.json").read_text())["lin"]


def test_score_takes_the_configured_benchmark_column(
    synthetic_dir: Path, preds_file: Path, tmp_path: Path
) -> None:
    """[scoring] benchmark_column, which validate scores BMC against, was not read by score:
    a benchmark file of several columns was refused ('cannot tell which column')."""

    def scored(work: Path, *extra: str) -> dict[str, float]:
        out = work / "scores.json"
        result = CliRunner().invoke(
            app,
            ["score", str(preds_file), "--data", str(synthetic_dir / "validation.parquet"),
             "--benchmark", str(synthetic_dir / "validation_benchmark_models.parquet"),
             "--json", str(out), "-C", str(work), *extra],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        return dict(json.loads(out.read_text())["lin"]["per_era"]["bmc"])

    configured = tmp_path / "configured"
    configured.mkdir()
    (configured / "numerpilot.toml").write_text(
        '[scoring]\nbenchmark_column = "v52_lgbm_cyrusd20"\n'
    )
    named = tmp_path / "named"
    named.mkdir()
    assert scored(configured) == scored(named, "--benchmark-col", "v52_lgbm_cyrusd20")
    assert scored(configured) != scored(configured, "--benchmark-col", "v52_lgbm_ender20")
    (configured / "numerpilot.toml").write_text('[scoring]\nbenchmark_column = "v52_gone"\n')
    result = CliRunner().invoke(
        app,
        ["score", str(preds_file), "--data", str(synthetic_dir / "validation.parquet"),
         "--benchmark", str(synthetic_dir / "validation_benchmark_models.parquet"),
         "-C", str(configured)],
    )  # fmt: skip
    said = str(result.exception)
    assert (
        "[scoring] benchmark_column of numerpilot.toml: validation_benchmark_models.parquet "
        "has no column 'v52_gone'" in said
    )
    assert said.endswith("; or name the column with --benchmark-col COL.")
