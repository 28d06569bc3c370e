"""``train.main_target``: the target the ensemble weights are fitted against and validate
and cv score on (Numerai scores each round on a target it names, e.g. target_ender_20,
which need not be the data's main ``target``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import Numerpilot
from tests.pipeline.conftest import FAST_CONFIG, make_workdir
from tests.support.catalogue import Refused

from numerpilot.data import layout
from numerpilot.modeling.manifest import load_manifest
from numerpilot.modeling.store import load_bundle
from numerpilot.pipeline.context import Context
from numerpilot.pipeline.predict import predict_file
from numerpilot.pipeline.validate import validate_ensemble
from numerpilot.scoring.report import score_frame
from numerpilot.workdir import Workdir

MAIN = "target_teager2b_20"
CONFIG = FAST_CONFIG.replace("[train]\n", f'[train]\nmain_target = "{MAIN}"\n')


def test_validate_scores_the_ensemble_against_the_main_target(
    numerpilot: Numerpilot, tmp_path: Path, synthetic_dir: Path
) -> None:
    wd = make_workdir(tmp_path / "wd", synthetic_dir, CONFIG)
    assert numerpilot("train", "-C", str(wd)).code == 0
    assert load_manifest(wd / "models").main_target == MAIN
    assert numerpilot("validate", "-C", str(wd)).code == 0
    report = json.loads((wd / "reports" / "validation.json").read_text())
    scored = report["ensemble"]["per_era"]["corr"]
    ctx = Context.load(Workdir(wd))
    result = predict_file(load_bundle(wd / "models"), ctx.data_dir / layout.VALIDATION,
                          targets=(MAIN, layout.MAIN_TARGET))  # fmt: skip
    eras = result.data.era_index.labels
    against = {
        t: score_frame(result.final[:, None], result.data.target(t), result.data.era_index,
                       columns=["e"]).metrics["corr"]
        for t in (MAIN, layout.MAIN_TARGET)
    }  # fmt: skip
    for target, close in ((MAIN, True), (layout.MAIN_TARGET, False)):
        per_era = dict(zip(against[target].eras, against[target].values[:, 0], strict=True))
        mine = np.array([per_era[e] for e in scored])
        assert np.allclose(mine, list(scored.values()), atol=1e-12) is close, target
    assert set(scored) <= set(eras)


def test_cv_purges_for_a_longer_main_target(
    numerpilot: Numerpilot, tmp_path: Path, synthetic_dir: Path
) -> None:
    """The main target's horizon counts like a trained target's: a 60-day main target
    purges 16 eras, though every trained target is a 20-day one."""
    config = FAST_CONFIG.replace("[train]\n", '[train]\nmain_target = "target_ender_60"\n')
    wd = make_workdir(tmp_path / "wd", synthetic_dir, config + "\n[cv]\nfolds = 2\ntest_eras = 4\n")
    done = numerpilot("cv", "-C", str(wd))
    assert done.code == 0, done.err
    assert json.loads((wd / "reports" / "cv.json").read_text())["purge_eras"] == 16


@pytest.mark.bad_input("train", "a `train.main_target` the data lacks")
def test_a_main_target_the_data_lacks(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, synthetic_dir: Path
) -> None:
    config = FAST_CONFIG.replace("[train]\n", '[train]\nmain_target = "target_nope_20"\n')
    wd = make_workdir(tmp_path / "wd", synthetic_dir, config)
    refused(numerpilot("train", "-C", str(wd)), 1, "train.parquet has no 'target_nope_20' "
            "column, train.main_target", "set train.main_target to one of its targets")  # fmt: skip
    assert not (wd / "models" / "manifest.json").exists()


def test_predict_says_the_models_were_weighted_against_another_main_target(
    numerpilot: Numerpilot, tmp_path: Path, synthetic_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    wd = make_workdir(tmp_path / "wd", synthetic_dir, FAST_CONFIG)
    assert numerpilot("train", "-C", str(wd)).code == 0
    (wd / "numerpilot.toml").write_text(CONFIG)
    with caplog.at_level("WARNING", logger="numerpilot.pipeline.predict"):
        assert numerpilot("predict", "-C", str(wd)).code == 0
    said = " ".join(caplog.text.split())
    assert f"main target '{MAIN}' (the models in use were weighted against 'target')" in said


def test_cv_compare_scores_both_configs_on_this_configs_main_target(
    tmp_path: Path, synthetic_dir: Path
) -> None:
    """Two main targets would score the two ensembles on different targets: the compared
    config's is named as not used, like its [data] and [cv]."""
    from numerpilot.pipeline.cv_compare import other_context

    wd = make_workdir(tmp_path / "wd", synthetic_dir, FAST_CONFIG)
    (tmp_path / "other.toml").write_text(CONFIG)
    other, notes = other_context(Context.load(Workdir(wd)), tmp_path / "other.toml")
    assert other.config.train.main_target == layout.MAIN_TARGET
    (note,) = notes
    assert f"sets train.main_target = '{MAIN}', not used" in note


@pytest.mark.bad_input("train", "a `train.main_target` with no known value in the held-out eras")
def test_a_main_target_unknown_where_the_weights_are_fitted(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, synthetic_dir: Path
) -> None:
    """It crashed as a bug (exit 70, 'cannot reshape array of size 0') after every fit."""
    import pandas as pd

    config = FAST_CONFIG.replace("[train]\n", '[train]\nmain_target = "target_empty_20"\n')
    wd = make_workdir(tmp_path / "wd", synthetic_dir, config)
    for name in (layout.TRAIN, layout.VALIDATION):
        path = wd / "data" / "v5.2" / name
        frame = pd.read_parquet(path)
        frame["target_empty_20"] = float("nan")
        frame.to_parquet(path)
    refused(numerpilot("train", "-C", str(wd)), 1, "train.main_target 'target_empty_20' has "
            "no known values in", "or set train.weights")  # fmt: skip
    assert not (wd / "models" / "manifest.json").exists()


def test_a_longer_main_target_keeps_the_validation_overlap_note(
    numerpilot: Numerpilot, tmp_path: Path, synthetic_dir: Path
) -> None:
    """Weighted on a 60-day target, the scored eras within 16 eras of train's end were no
    longer named (the note's bar rose with the main target's horizon)."""
    from numerpilot.pipeline.cv_folds import cv_purge, gap_text

    config = FAST_CONFIG.replace("[train]\n", '[train]\nmain_target = "target_ender_60"\n')
    wd = make_workdir(tmp_path / "wd", synthetic_dir, config)
    assert numerpilot("train", "-C", str(wd)).code == 0
    ctx = Context.load(Workdir(wd))
    notes = validate_ensemble(ctx, write_report=False).notes
    assert [n for n in notes if "within 16 eras of train's last era" in n], notes
    cfg = ctx.config
    assert "(target_ender_60's horizon, the main target)" in gap_text(cfg, cv_purge(cfg))


def test_the_reports_name_the_target_they_score_on(
    numerpilot: Numerpilot, tmp_path: Path, synthetic_dir: Path
) -> None:
    """Reports from before and after a main_target change could not be told apart."""
    wd = make_workdir(tmp_path / "wd", synthetic_dir, CONFIG + "\n[cv]\nfolds = 2\ntest_eras = 4\n")
    assert numerpilot("train", "-C", str(wd)).code == 0
    done = numerpilot("validate", "-C", str(wd))
    assert f"Validation per era (CORR against {MAIN})" in done.out
    assert json.loads((wd / "reports" / "validation.json").read_text())["main_target"] == MAIN
    assert f"<td>{MAIN}</td>" in (wd / "reports" / "validation.html").read_text()
    assert numerpilot("cv", "-C", str(wd)).code == 0
    assert json.loads((wd / "reports" / "cv.json").read_text())["main_target"] == MAIN
