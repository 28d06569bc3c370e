"""``numerpilot cv``: out-of-fold predictions of every member, scored per fold and overall."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from tests.conftest import Numerpilot, numerpilot_process
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
        "a member the fitted weights drop in a fold is not refit there, so its scores cover "
        "only the folds that kept it (the 'eras' row): kept target_teager2b_20 in 1 of 2 folds; "
        "target_teager2b_20.linear in 1 of 2 folds",
        "MMC: the meta model covers none of the folds' test eras, so none is scored (Numerai's "
        "covers validation eras only: cv.include_validation = true tests on them too)",
    ]
    counts = {c: doc["overall"][c]["n_eras"] for c in ("target_teager2b_20", "ensemble")}
    assert counts == {"target_teager2b_20": 4, "ensemble": 8}  # the note's 1 of 2 folds


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


def _unresolved(wd: Path, n: int) -> list[str]:
    """Make the main target unknown in the last ``n`` validation eras; returns them."""
    path = wd / "data" / "v5.2" / layout.VALIDATION
    frame = pd.read_parquet(path)
    eras = sorted(frame["era"].unique())[-n:]
    frame.loc[frame["era"].isin(eras), layout.MAIN_TARGET] = float("nan")
    frame.to_parquet(path)
    return eras


def test_a_fold_with_nothing_to_score_is_not_fitted_and_the_report_is_written(
    cli: CliRunner, tmp_path: Path, synthetic_dir: Path
) -> None:
    """Validation eras whose targets are not resolved yet fill the last fold: it was fitted
    and then failed without a report; now it is skipped before any fit, and said so."""
    wd = make_workdir(
        tmp_path / "wd", synthetic_dir, FAST_CONFIG + CV + "include_validation = true\n"
    )
    unresolved = _unresolved(wd, 4)
    code, out = cli("cv", "-C", str(wd))
    assert code == 0, out
    doc = json.loads((wd / "reports" / "cv.json").read_text())
    last = doc["folds"][-1]
    assert [last["test_eras"]["first"], last["test_eras"]["last"]] == [
        unresolved[0],
        unresolved[-1],
    ]
    assert last["trees"] == {} and last["scores"]["ensemble"]["n_eras"] == 0
    assert doc["folds"][0]["scores"]["ensemble"]["n_eras"] == 4
    (note,) = [n for n in doc["notes"] if n.startswith("fold 2:")]
    assert "not fitted or scored" in note and "cv.test_eras" in note
    assert "Note: fold 2: not fitted or scored" in out
    assert (wd / "reports" / "cv.html").exists()


@pytest.mark.bad_input("cv", "no test era of any fold has main-target values")
def test_no_fold_has_anything_to_score(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, synthetic_dir: Path
) -> None:
    wd = make_workdir(
        tmp_path / "wd", synthetic_dir, FAST_CONFIG + CV + "include_validation = true\n"
    )
    _unresolved(wd, 8)
    refused(numerpilot("cv", "-C", str(wd)), 1, "no test era of the cv folds", "can be scored",
            "cv.include_validation = false")  # fmt: skip
    assert not (wd / "reports" / "cv.json").exists()


def test_too_few_eras_messages_state_the_real_need() -> None:
    from numerpilot.errors import DataError
    from numerpilot.modeling.cv import TooFewErasError, era_folds, holdout_split

    eras = np.array([f"{e:04d}" for e in range(1, 12)])
    with pytest.raises(TooFewErasError) as caught:  # 6 + 4 = 10 < 11, but 2 are needed to fit
        holdout_split(eras, holdout=6, embargo=4, era_step=1)
    message = str(caught.value)
    assert "only 11 training eras, too few for the holdout, which needs 12 (6 holdout + 4 " \
        "embargo + 2 to fit on)" in message  # fmt: skip
    assert "era_step" not in message  # every era is read already
    with pytest.raises(TooFewErasError, match=r"\(with --demo: demo.holdout_eras / "
                       r"demo.embargo_eras\), or lower data.era_step\.$"):  # fmt: skip
        holdout_split(eras[:1], holdout=6, embargo=4, era_step=2)
    with pytest.raises(DataError) as caught:
        era_folds(eras, n_folds=1, purge=10, test_eras=1, era_step=1)
    message = str(caught.value)
    assert "11 eras are too few for 1 fold of 1 test era behind a gap of 10 eras" in message
    assert "lower cv.folds or cv.test_eras, or leave fewer eras out before each test " \
        "block: a smaller cv.purge_eras or cv.embargo_eras" in message  # the gap alone  # fmt: skip


def test_era_corr_of_a_variance_rounded_below_zero_warns_nothing() -> None:
    import warnings

    from numerpilot.modeling.weights import EraMoments

    gram = np.array([[[0.3, 0.1 + 0.2], [0.1 + 0.2, 0.3]]])  # w'Gw = -1e-16 for w = (1, -1)
    moments = EraMoments(np.array([[0.1, 0.1]]), gram, np.array([1.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        corr = moments.era_corr(np.array([1.0, -1.0]))
    assert corr.tolist() == [0.0]  # no correlation, as for a constant ensemble


def test_compare_with_itself_shows_both_scores_ties_and_the_settings_not_used(
    cli: CliRunner, cv_workdir: Path, tmp_path: Path
) -> None:
    """The same recipe in a config of its own: both configs' scores side by side (printed
    and in the HTML page), every era a tie (not "0 % better"), and a note on the [data] and
    [cv] settings it sets otherwise, which are not used."""
    other = tmp_path / "elsewhere" / "other.toml"
    other.parent.mkdir()
    other.write_text(FAST_CONFIG.replace("era_step = 1", 'era_step = 1\ndir = "mine"')
                     + "\n[cv]\nfolds = 3\n")  # fmt: skip
    code, out = cli("cv", "-C", str(cv_workdir), "--compare", str(other))
    assert code == 0, out
    doc = json.loads((cv_workdir / "reports" / "cv.json").read_text())
    cmp = doc["compare"]
    assert cmp["scores"]["this"] == cmp["scores"]["other"]
    assert cmp["scores"]["this"]["corr_mean"] == doc["overall"]["ensemble"]["corr_mean"]
    summary = cmp["summary"]
    assert (summary["tied_share"], summary["this_better_share"], summary["other_better_share"]) \
        == (1.0, 0.0, 0.0)  # fmt: skip
    assert cmp["notes"] == [
        f"{other} sets data.dir = 'mine', cv.folds = 3, not used: both configs are "
        "cross-validated on this config's [data] (but data.feature_set) and [cv]",
        f"{other} sets the same recipe as this config (on this config's [data] and [cv]): it "
        "was not cross-validated again, and every era ties; change a setting in it to compare",
    ]
    assert out.count("Scoring fold 1") == 1, out  # one cross-validation, not the same one twice
    flat = " ".join(out.split())
    assert "eras tied 100%" in flat and "eras where the other config is better 0%" in flat
    assert f"This config and the other config, {other}, on the same folds" in flat
    mean = f"{cmp['scores']['this']['corr_mean']:.4f}"
    assert f"CORR mean {mean} {mean}" in flat
    assert f"Note: {other} sets data.dir" in flat
    html = (cv_workdir / "reports" / "cv.html").read_text()
    assert "<th>this config</th><th>other config</th>" in html
    assert f"the other config, {other}, on the same folds" in html
    assert '<tr data-key="tied_share"><td class="metric">eras tied</td><td>100%</td>' in html
    assert "not used: both configs" in html


def test_compare_errors_name_the_other_config_by_the_path_given(
    cli: CliRunner, cv_workdir: Path, tmp_path: Path
) -> None:
    other = tmp_path / "elsewhere" / "numerpilot.toml"  # a basename alone names neither
    other.parent.mkdir()
    other.write_text(FAST_CONFIG.replace('feature_set = "medium"', 'feature_set = "smal"'))
    code, out = cli("cv", "-C", str(cv_workdir), "--compare", str(other))
    assert code == 1
    assert f"--compare {other} (the other config): feature set 'smal'" in " ".join(out.split())


@pytest.mark.bad_input("cv", "--compare names a config whose held-out split a fold cannot hold")
def test_compare_fold_too_small_for_the_other_config_names_it(
    numerpilot: Numerpilot, refused: Refused, cv_workdir: Path, tmp_path: Path
) -> None:
    """This config's folds hold its holdout; the other's larger holdout does not: the error
    says that it is the other config's (it blamed no config, as if this one were wrong)."""
    other = tmp_path / "other.toml"
    other.write_text(FAST_CONFIG.replace("holdout_eras = 8", "holdout_eras = 200\ncv_folds = 0"))
    refused(numerpilot("cv", "-C", str(cv_workdir), "--compare", str(other)), 1,
            f"--compare {other} (the other config): the training eras of cv fold 1/2",
            "train.holdout_eras")  # fmt: skip
    assert not (cv_workdir / "reports" / "cv.json").exists()


def test_compare_says_a_mistake_both_configs_share_as_this_configs(
    numerpilot: Numerpilot, tmp_path: Path, synthetic_dir: Path
) -> None:
    """Both configs' holdout too large for the folds: the error blamed the other config, and
    once that one was fixed, the same error came back for this one."""
    small = FAST_CONFIG.replace("holdout_eras = 8", "holdout_eras = 200\ncv_folds = 0") + CV
    wd = make_workdir(tmp_path / "wd", synthetic_dir, small)
    other = tmp_path / "other.toml"
    other.write_text(small)
    done = numerpilot("cv", "-C", str(wd), "--compare", str(other))
    assert done.code == 1 and "the training eras of cv fold 1/2" in done.err, done.err
    assert "the other config" not in done.err


def test_compare_with_demo_names_the_other_configs_demo_data_settings_not_used(
    cv_workdir: Path, tmp_path: Path
) -> None:
    """With --demo both configs run on this config's demo dataset: the other's [demo] data
    settings (its size, seed, folder) are not used, and the note says so (it said nothing);
    its [demo] model settings (trees, holdout) are used, so the note leaves them out."""
    from numerpilot.pipeline.cv_compare import other_context

    other = tmp_path / "other.toml"
    other.write_text("[demo]\ntrain_eras = 50\nseed = 7\nn_estimators = 30\n")
    ctx = Context.load(Workdir(cv_workdir), demo=True)
    other_ctx, notes = other_context(ctx, other)
    assert other_ctx.config.lightgbm.n_estimators == 30
    assert notes == (
        f"{other} sets demo.seed = 7, demo.train_eras = 50, not used: both configs are "
        "cross-validated on this config's [data] (but data.feature_set), [cv] and demo "
        "dataset",
    )


@pytest.mark.bad_input("cv", "--compare names something that exists but is no file")
def test_compare_with_a_device_says_it_is_not_a_file(
    numerpilot: Numerpilot, refused: Refused, cv_workdir: Path
) -> None:
    """/dev/null exists: "no such file" was wrong."""
    outcome = numerpilot("cv", "-C", str(cv_workdir), "--compare", "/dev/null")
    message = refused(outcome, 2, "--compare /dev/null: not a file", "numerpilot.toml")
    assert "no such file" not in message


@pytest.mark.parametrize("columns", ["60", "200"])
def test_the_folds_table_never_wraps_or_cuts_and_is_not_padded(
    cv_workdir: Path, columns: str
) -> None:
    """At 80 columns the era ranges wrapped, at 60 numbers were cut ("0.0…"); piped, every
    line ended in padding spaces."""
    done = numerpilot_process("cv", "-C", str(cv_workdir), COLUMNS=columns)
    assert done.code == 0, done.err
    lines = done.out.splitlines()
    folds = lines[next(i for i, line in enumerate(lines) if line.lstrip().startswith("Folds")) :]
    folds = folds[: next(i for i, line in enumerate(folds) if "Out-of-fold" in line)]
    assert folds and all(line == line.rstrip() for line in folds)
    assert "…" not in "\n".join(folds) and max(map(len, folds)) <= int(columns)
    ranges = [line for line in folds if line.lstrip().startswith(("1 ", "2 "))]
    assert all(re.search(r"\d–\d+ \(\d+\)", line) for line in ranges[:2]), folds
    assert len([line for line in folds if "CORR" in line]) == 1


def test_members_dropped_in_folds_are_named_with_how_many_kept_them() -> None:
    """`cv --demo` showed target_ender_20 with 0 eras and '–' everywhere, and others over
    fewer eras than the ensemble, without a word why."""
    from numerpilot.pipeline.cv import _dropped_note

    columns = ("target", "target_ender_20", "target.linear", "ensemble")
    folds = [{"target", "target.linear", "ensemble"}, {"target.linear", "ensemble"}]
    note = _dropped_note(columns, folds)
    assert note is not None and note.endswith(
        "kept target in 1 of 2 folds; target_ender_20 in no folds"
    )
    assert _dropped_note(columns, [set(columns)]) is None


def test_compare_with_an_automatic_era_step_fits_both_on_the_steps_of_the_larger_plan(
    numerpilot: Numerpilot, tmp_path: Path, synthetic_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A budget that every era fits with "medium" but not with "all": the compared config
    ("all") planned every 2nd era for itself, then loaded every era, the first config's."""
    from numerpilot.data.catalog import feature_set
    from numerpilot.modeling.memory import GIB
    from numerpilot.pipeline.plan import memory_plan

    wd = make_workdir(tmp_path / "wd", synthetic_dir, FAST_CONFIG + CV)
    ctx = Context.load(Workdir(wd))

    def every_era(features: str) -> int:  # the memory plan's estimate for every era
        data = ctx.config.data.model_copy(update={"feature_set": features})
        config = ctx.config.model_copy(update={"data": data})
        n_features = len(feature_set(ctx.data_dir, features))
        return memory_plan(Context(ctx.workdir, config, False), n_features, 2).estimate

    budget = (every_era("medium") + every_era("all")) / 2
    assert every_era("medium") < budget < every_era("all")
    auto = FAST_CONFIG.replace("era_step = 1", 'era_step = "auto"').replace(
        "[train]\n", f"[train]\nmemory_gb = {budget / GIB}\n"
    )
    (wd / "numerpilot.toml").write_text(auto + CV)
    other = tmp_path / "other.toml"
    other.write_text(auto.replace('feature_set = "medium"', 'feature_set = "all"'))
    outcome = numerpilot("cv", "-C", str(wd), "--compare", str(other))
    assert outcome.code == 0, outcome.err
    assert 'data.era_step "auto": every 2nd era for both configs' in caplog.text
    doc = json.loads((wd / "reports" / "cv.json").read_text())
    assert doc["era_step"] == 2
    assert len(doc["compare"]["per_era"]) == 8  # the same test eras, every 2nd of them
