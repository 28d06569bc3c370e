"""``numerpilot cv``: out-of-fold predictions of every member, scored per fold and overall."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from tests.conftest import Numerpilot
from tests.pipeline.conftest import FAST_CONFIG, TWO_WORKERS, CliRunner, make_workdir
from tests.support.catalogue import Refused

from numerpilot.data import layout
from numerpilot.kernel.eras import EraIndex
from numerpilot.modeling.cv import min_era_distance
from numerpilot.pipeline.context import Context
from numerpilot.pipeline.cv import load_cv_data, run_cv
from numerpilot.pipeline.cv_results import compare
from numerpilot.scoring.report import score_frame
from numerpilot.workdir import Workdir

CV = "\n[cv]\nfolds = 2\ntest_eras = 4\n"


@pytest.fixture
def cv_workdir(tmp_path: Path, synthetic_dir: Path) -> Path:
    return make_workdir(tmp_path / "wd", synthetic_dir, FAST_CONFIG + CV)


def test_oof_covers_every_test_era_once_and_scores_equal_scoring_them_at_once(
    cv_workdir: Path,
) -> None:
    ctx = Context.load(Workdir(cv_workdir))
    cvd = load_cv_data(ctx)
    result = run_cv(ctx, cv_data=cvd)
    tested = np.concatenate([f.split.holdout for f in result.folds])
    assert len(tested) == len(set(tested)) == 8
    predicted = ~np.isnan(result.oof[:, -1])  # the ensemble; a dropped member is NaN
    assert set(result.row_eras[predicted]) == set(tested)
    assert not np.isin(result.row_eras[~predicted], tested).any()
    for fold in result.folds:  # purged for the 20-day targets: 8 eras
        assert min_era_distance(fold.split.fit, fold.split.holdout) > 8
    # The overall scores are the scores of all out-of-fold rows together.
    rows = np.flatnonzero(predicted)
    kept = [j for j in range(len(result.columns)) if not np.isnan(result.oof[rows, j]).any()]
    direct = score_frame(
        result.oof[np.ix_(rows, kept)], cvd.data.target(layout.MAIN_TARGET)[rows],
        EraIndex.from_eras(cvd.data.eras[rows]), columns=[result.columns[j] for j in kept],
        features=cvd.data.features[rows, : cvd.n_model_features],
    )  # fmt: skip
    for metric in ("corr", "fnc"):
        np.testing.assert_allclose(
            result.overall.metrics[metric].values[:, kept], direct.metrics[metric].values,
            atol=1e-12,
        )  # fmt: skip
    # Every member the recipe may keep: trees, then ridge, per target; the main target's
    # trees are always kept.
    # A target's seeds are one column (named after the target).
    assert result.columns == ("target", "target_teager2b_20", "target.linear",
                              "target_teager2b_20.linear", "ensemble")  # fmt: skip
    assert 0 in kept and len(result.columns) - 1 in kept
    for fold in result.folds:  # the recipe ran in each fold: its members and tree counts
        assert fold.trees["target.seed0"] > 0


def test_cv_command_writes_folds_and_overall(cli: CliRunner, cv_workdir: Path) -> None:
    code, out = cli("cv", "-C", str(cv_workdir))
    assert code == 0, out
    assert "Folds (expanding, purge 8 + embargo 0 eras)" in out
    assert "Out-of-fold scores, all folds" in out
    doc = json.loads((cv_workdir / "reports" / "cv.json").read_text())
    assert [f["fold"] for f in doc["folds"]] == [1, 2]
    assert doc["folds"][0]["test_eras"]["n"] == 4
    for key in ("corr_mean", "corr_sharpe", "corr_max_drawdown", "fnc_mean"):
        assert key in doc["overall"]["ensemble"]
        assert key in doc["folds"][1]["scores"]["ensemble"]
    html = (cv_workdir / "reports" / "cv.html").read_text()
    assert 'data-fold="2"' in html and "<h2>Summary</h2>" in html
    # train eras only, which Numerai's meta model does not cover: the empty MMC is explained
    assert doc["notes"] == [
        "MMC: the meta model covers none of the folds' test eras, so none is scored (Numerai's "
        "covers validation eras only: cv.include_validation = true tests on them too)"
    ]


def test_mmc_where_the_meta_model_covers(
    cli: CliRunner, tmp_path: Path, synthetic_dir: Path
) -> None:
    config = (
        FAST_CONFIG + CV.replace("test_eras = 4", "test_eras = 6") + "include_validation = true\n"
    )
    wd = make_workdir(tmp_path / "wd", synthetic_dir, config)
    code, out = cli("cv", "-C", str(wd))
    assert code == 0, out
    doc = json.loads((wd / "reports" / "cv.json").read_text())
    # The last fold's eras are validation eras, which the meta model covers; the first
    # fold's are train eras, which it does not: the note says so, printed and in cv.json.
    assert doc["folds"][-1]["scores"]["ensemble"]["mmc_n_eras"] == 6
    assert np.isfinite(doc["overall"]["ensemble"]["mmc_mean"])
    (note,) = [n for n in doc["notes"] if "MMC" in n]
    assert note.startswith("fold 1: MMC: ") and "Note: fold 1: MMC:" in out


def test_compare_two_configs_on_the_same_folds(
    cli: CliRunner, cv_workdir: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.toml"
    other.write_text(
        FAST_CONFIG.replace('"target", "target_teager2b_20"', '"target", "target_ender_60"')
        .replace("learning_rate = 0.1", "learning_rate = 0.05")
    )  # fmt: skip
    code, out = cli("cv", "-C", str(cv_workdir), "--compare", str(other))
    assert code == 0, out
    assert "minus this config" in out and "t-statistic" in out, out
    doc = json.loads((cv_workdir / "reports" / "cv.json").read_text())
    cmp = doc["compare"]
    assert doc["purge_eras"] == 16  # the 60-day target of the other config sets the purge
    diff = np.array(list(cmp["per_era"].values()))
    assert len(diff) == 8
    ttest = stats.ttest_1samp(diff, 0.0)
    assert cmp["summary"]["t_stat"] == pytest.approx(ttest.statistic, rel=1e-9)
    assert cmp["summary"]["mean_diff"] == pytest.approx(diff.mean())


def test_comparison_is_other_minus_base(cv_workdir: Path) -> None:
    ctx = Context.load(Workdir(cv_workdir))
    base = run_cv(ctx)
    same = compare(base, base)
    assert np.all(same.diff == 0) and len(same.eras) == 8


def test_folds_on_a_local_cluster_equal_folds_here(tmp_path: Path, synthetic_dir: Path) -> None:
    config = FAST_CONFIG + TWO_WORKERS + CV + "include_validation = true\n"
    ctx = Context.load(Workdir(make_workdir(tmp_path / "wd", synthetic_dir, config)))
    here = run_cv(ctx)
    there = run_cv(ctx, cluster="local")
    np.testing.assert_array_equal(here.oof, there.oof)
    assert [f.trees for f in here.folds] == [f.trees for f in there.folds]


@pytest.mark.bad_input("cv", "too few eras for the folds behind the purge")
def test_too_few_eras_for_the_folds(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, synthetic_dir: Path
) -> None:
    config = FAST_CONFIG + "\n[cv]\nfolds = 6\ntest_eras = 6\n"
    wd = make_workdir(tmp_path / "wd", synthetic_dir, config)
    refused(numerpilot("cv", "-C", str(wd)), 1, "too few for 6 folds", "lower cv.folds")
    assert not (wd / "reports" / "cv.json").exists()


@pytest.mark.bad_input("cv", "a target the first fold's training eras do not know")
def test_target_unknown_in_a_fold(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, synthetic_dir: Path
) -> None:
    wd = make_workdir(tmp_path / "wd", synthetic_dir)
    path = wd / "data" / "v5.2" / layout.TRAIN
    frame = pd.read_parquet(path)
    eras = sorted(frame["era"].unique())
    frame.loc[frame["era"] < eras[len(eras) // 2], "target_teager2b_20"] = float("nan")
    frame.to_parquet(path)
    refused(numerpilot("cv", "-C", str(wd)), 1, "'target_teager2b_20' has no known values in "
            "the training eras of cv fold 1/", "remove it from train.targets")  # fmt: skip
    assert not (wd / "reports" / "cv.json").exists()


@pytest.mark.bad_input("cv", "--compare names a config with a bad value")
def test_compare_with_a_bad_config(
    numerpilot: Numerpilot, refused: Refused, cv_workdir: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.toml"
    other.write_text("[model]\nbackend = 'catboost'\n")
    refused(numerpilot("cv", "-C", str(cv_workdir), "--compare", str(other)), 1, "other.toml",
            "model.backend")  # fmt: skip
    assert not (cv_workdir / "reports" / "cv.json").exists()
