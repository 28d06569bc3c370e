"""Bad config and data for init, demo-data, train, validate, predict and run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from tests.conftest import Numerpilot
from tests.pipeline.conftest import FAST_CONFIG
from tests.support.catalogue import Refused
from tests.support.fs import leftovers, read_only, snapshot

from numerpilot.data import layout


def _data(root: Path) -> Path:
    return root / "data" / "v5.2"


def _damage_pages(path: Path) -> None:
    """Overwrite the first page header of a parquet file; its footer stays intact."""
    with path.open("r+b") as fh:
        fh.seek(4)  # after the magic bytes: the first column chunk
        fh.write(b"\xff" * 64)


# -- init and demo-data -----------------------------------------------------------------


@pytest.mark.bad_input("init", "numerpilot.toml exists already (no `--force`)")
def test_init_refuses_to_overwrite(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path
) -> None:
    (tmp_path / "numerpilot.toml").write_text("# mine\n")
    refused(numerpilot("init", str(tmp_path)), 2, "already exists", "--force")
    assert (tmp_path / "numerpilot.toml").read_text() == "# mine\n"


@pytest.mark.bad_input("init", "a folder that is not writable")
def test_init_into_a_read_only_folder(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_only(monkeypatch, tmp_path / "ro")
    refused(numerpilot("init", str(tmp_path / "ro")), 1, "Permission denied", "not writable")
    monkeypatch.undo()
    assert list((tmp_path / "ro").iterdir()) == []


@pytest.mark.bad_input("init", "the folder is a link to a folder that does not exist")
def test_init_into_a_dangling_link(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path
) -> None:
    (tmp_path / "work").symlink_to(tmp_path / "gone")
    refused(numerpilot("init", str(tmp_path / "work")), 1, "is a link to", "does not exist")
    assert not (tmp_path / "gone").exists()


@pytest.mark.bad_input("demo-data", "sizes this machine's memory cannot hold")
def test_demo_data_too_large(numerpilot: Numerpilot, refused: Refused, tmp_path: Path) -> None:
    out = tmp_path / "d"
    args = ("--train-eras", "100000", "--rows-per-era", "100000")
    refused(numerpilot("demo-data", str(out), *args), 1, "would need about", "choose fewer")
    assert not out.exists()


@pytest.mark.bad_input("demo-data", "too few features (`--features 3`)")
def test_demo_data_too_few_features(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path
) -> None:
    says = "--features must be at least 24, not 3"
    refused(numerpilot("demo-data", str(tmp_path / "d"), "--features", "3"), 2, says)
    assert not (tmp_path / "d").exists()


@pytest.mark.bad_input("demo-data", "too few validation eras (`--validation-eras 3`)")
def test_demo_data_too_few_validation_eras(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path
) -> None:
    """It said "train_eras must be >= 10 and validation_eras >= 4": the fields' names, not
    the options', both of them, and not the value given."""
    line = refused(numerpilot("demo-data", str(tmp_path / "d"), "--validation-eras", "3"), 2,
                   "--validation-eras must be at least 4, not 3")  # fmt: skip
    assert "train" not in line


@pytest.mark.bad_input("demo-data", "the output folder is a file")
def test_demo_data_into_a_file(numerpilot: Numerpilot, refused: Refused, tmp_path: Path) -> None:
    (tmp_path / "d").write_text("x")
    refused(numerpilot("demo-data", str(tmp_path / "d")), 2, "is a file, not a folder")
    assert (tmp_path / "d").read_text() == "x"


# -- the configuration ------------------------------------------------------------------


@pytest.mark.bad_input("train", "an unknown key in numerpilot.toml (`learning_rte`)")
def test_unknown_config_key(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    (fresh / "numerpilot.toml").write_text("[lightgbm]\nlearning_rte = 0.1\n")
    refused(numerpilot("train", "-C", str(fresh)), 1, "unknown key 'lightgbm.learning_rte'")
    assert not (fresh / "models").exists()


@pytest.mark.bad_input("train", "a value out of range (`era_step = 0`)")
def test_bad_config_value(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    (fresh / "numerpilot.toml").write_text("[data]\nera_step = 0\n")
    refused(numerpilot("train", "-C", str(fresh)), 1, "data.era_step", "(got 0)")


@pytest.mark.bad_input("train", "numerpilot.toml is not TOML")
def test_config_not_toml(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    (fresh / "numerpilot.toml").write_text("[data\nera_step = \n")
    refused(numerpilot("train", "-C", str(fresh)), 1, "numerpilot.toml")


@pytest.mark.bad_input("train", "a target name without the `target` prefix")
def test_target_name(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    (fresh / "numerpilot.toml").write_text('[train]\ntargets = ["cyrus"]\n')
    refused(numerpilot("train", "-C", str(fresh)), 1, "train.targets", "start with 'target'")


@pytest.mark.bad_input("train", "weights that do not match the targets")
def test_weights(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    config = FAST_CONFIG.replace(
        "early_stopping_rounds = 10", "early_stopping_rounds = 10\nweights = [1]"
    )
    (fresh / "numerpilot.toml").write_text(config)
    refused(numerpilot("train", "-C", str(fresh)), 1, "train.weights")
    assert not (fresh / "models").exists()


# -- train ------------------------------------------------------------------------------


@pytest.mark.bad_input("train", "no dataset downloaded")
def test_no_dataset(numerpilot: Numerpilot, refused: Refused, tmp_path: Path) -> None:
    (tmp_path / "numerpilot.toml").write_text(FAST_CONFIG)
    refused(numerpilot("train", "-C", str(tmp_path)), 1, "no dataset in", "numerpilot download",
            "--demo")  # fmt: skip
    assert not (tmp_path / "models").exists()


@pytest.mark.bad_input("train", "only the demo dataset exists (after `run --demo`)")
def test_only_demo_data(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, synthetic_dir: Path
) -> None:
    (tmp_path / "numerpilot.toml").write_text(FAST_CONFIG)
    shutil.copytree(synthetic_dir, tmp_path / "data" / "demo")
    refused(numerpilot("train", "-C", str(tmp_path)), 1, "only the demo dataset",
            "add --demo")  # fmt: skip


@pytest.mark.bad_input("train", "train.parquet is missing")
def test_missing_train_file(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    (_data(fresh) / layout.TRAIN).unlink()
    refused(numerpilot("train", "-C", str(fresh)), 1, "train.parquet is missing")


@pytest.mark.bad_input("train", "a feature set features.json does not have")
def test_unknown_feature_set(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    (fresh / "numerpilot.toml").write_text(FAST_CONFIG.replace('"medium"', '"gigantic"'))
    refused(numerpilot("train", "-C", str(fresh)), 1, "feature set 'gigantic'", "data.feature_set")


@pytest.mark.bad_input(
    "train", "a neutralization against a feature set features.json does not have"
)
def test_unknown_neutralizer_set(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    ensemble = '\n[ensemble]\nneutralization_proportion = 0.5\nneutralize_against = "gigantic"\n'
    (fresh / "numerpilot.toml").write_text(FAST_CONFIG + ensemble)
    done = numerpilot("train", "-C", str(fresh))
    refused(done, 1, "feature set 'gigantic'", "(config key ensemble.neutralize_against)")


@pytest.mark.bad_input(
    "train", "an unused neutralization (proportion 0) against a set features.json lacks"
)
def test_unknown_neutralizer_set_at_proportion_zero(
    numerpilot: Numerpilot, refused: Refused, fresh: Path
) -> None:
    """A typo is said now, not on the day the proportion is raised before a round."""
    ensemble = '\n[ensemble]\nneutralization_proportion = 0\nneutralize_against = "gigantic"\n'
    (fresh / "numerpilot.toml").write_text(FAST_CONFIG + ensemble)
    done = numerpilot("train", "-C", str(fresh))
    refused(done, 1, "feature set 'gigantic'", "(config key ensemble.neutralize_against)")


@pytest.mark.bad_input("train", "features.json is not valid JSON")
def test_features_json_damaged(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    (_data(fresh) / layout.FEATURES_JSON).write_text("{bad")
    refused(numerpilot("train", "-C", str(fresh)), 1, "features.json is not valid JSON")


@pytest.mark.bad_input("train", "a target the data does not have")
def test_unknown_target(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    config = FAST_CONFIG.replace('"target_teager2b_20"', '"target_unknown_20"')
    (fresh / "numerpilot.toml").write_text(config)
    refused(numerpilot("train", "-C", str(fresh)), 1, "target_unknown_20", "train.targets")
    assert not (fresh / "models").exists()


@pytest.mark.bad_input("train", "a target without a single known value")
def test_target_without_values(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    path = _data(fresh) / layout.TRAIN
    frame = pd.read_parquet(path)
    frame["target_teager2b_20"] = float("nan")
    frame.to_parquet(path)
    refused(numerpilot("train", "-C", str(fresh)), 1, "'target_teager2b_20' has no known values",
            "remove it from train.targets")  # fmt: skip
    assert not (fresh / "models").exists()


@pytest.mark.bad_input("train", "the main target without a single known value")
def test_main_target_without_values(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    """It was told to remove 'target' from train.targets, which cannot help: the main
    target is read whatever that list says."""
    path = _data(fresh) / layout.TRAIN
    frame = pd.read_parquet(path)
    frame["target"] = float("nan")
    frame.to_parquet(path)
    line = refused(numerpilot("train", "-C", str(fresh)), 1, "'target' has no known values",
                   "fill the 'target' column of train.parquet")  # fmt: skip
    assert "remove it" not in line and not (fresh / "models").exists()


def _known(case: str, keep: str, extra: str = "", *fragments: str) -> object:
    marks = pytest.mark.bad_input("train", case)
    return pytest.param(keep, extra, fragments, marks=marks, id=keep)


@pytest.mark.parametrize(
    ("keep", "extra", "fragments"),
    [
        _known("a target known only in the last third of the eras", "late"),
        _known("a target not known in the last fold's held-out eras", "early", "",
               "held-out eras of era fold 3", "to choose its tree count"),
        _known("a target that a seed's era sample (`model.era_sample`) misses", "sample",
               "[model]\nera_sample = 0.05\nseeds = [0, 1, 2, 3, 4, 5]\nlinear = false\n",
               "model.era_sample = 0.05", "raise model.era_sample"),
    ],
)  # fmt: skip
def test_target_known_in_some_eras(
    numerpilot: Numerpilot,
    refused: Refused,
    fresh: Path,
    keep: str,
    extra: str,
    fragments: tuple[str, ...],
) -> None:
    """Every fit and every held-out set has known values of every target, or train refuses
    before fitting anything (one without them would fail after the others' work)."""
    path = _data(fresh) / layout.TRAIN
    frame = pd.read_parquet(path)
    eras = sorted(frame["era"].unique())
    third = eras[2 * len(eras) // 3]
    unknown = {"late": frame["era"] < third, "early": frame["era"] >= third,
               "sample": frame["era"] != eras[len(eras) // 2]}[keep]  # fmt: skip
    frame.loc[unknown, "target_teager2b_20"] = float("nan")
    frame.to_parquet(path)
    train = "cv_folds = 3\n" if keep != "sample" else "cv_folds = 0\nweights = [0.5, 0.5]\n"
    config = FAST_CONFIG.replace("[train]\n", f"[train]\n{train}")
    if keep == "sample":  # nothing chosen on held-out eras: only the fits need the target
        config = config.replace("early_stopping_rounds = 10", "early_stopping_rounds = 0")
    (fresh / "numerpilot.toml").write_text(config + extra)
    refused(numerpilot("train", "-C", str(fresh)), 1, "'target_teager2b_20' is known only in eras",
            "none of them", "remove it from train.targets", *fragments)  # fmt: skip
    assert not (fresh / "models").exists()


@pytest.mark.bad_input("train", "train.parquet is not a parquet file")
def test_train_not_parquet(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    (_data(fresh) / layout.TRAIN).write_bytes(b"not a parquet file at all")
    refused(numerpilot("train", "-C", str(fresh)), 1, "not a readable parquet file",
            "download it again")  # fmt: skip


@pytest.mark.bad_input("train", "train.parquet with an intact footer but damaged pages")
def test_train_damaged_pages(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    _damage_pages(_data(fresh) / layout.TRAIN)
    refused(numerpilot("train", "-C", str(fresh)), 1, "train.parquet is damaged",
            "Delete it and download it again")  # fmt: skip
    assert not (fresh / "models").exists()


@pytest.mark.bad_input("train", "models/ is not writable (checked before training)")
def test_models_read_only(
    numerpilot: Numerpilot, refused: Refused, fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_only(monkeypatch, fresh / "models")
    outcome = numerpilot("train", "-C", str(fresh))
    refused(outcome, 1, "Permission denied", "models is not writable")
    assert "Loading training data" not in outcome.out  # refused before any work


@pytest.mark.bad_input("models", "`retrain` with models/ not writable (checked before training)")
def test_retrain_models_read_only(
    numerpilot: Numerpilot, refused: Refused, trained: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_only(monkeypatch, trained / "models")
    outcome = numerpilot("models", "retrain", "-C", str(trained))
    refused(outcome, 1, "Permission denied", "models is not writable")
    assert "Loading training data" not in outcome.out


# -- validate ---------------------------------------------------------------------------


@pytest.mark.bad_input("validate", "no trained models")
def test_no_models(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    refused(numerpilot("validate", "-C", str(fresh)), 1, "no trained models", "numerpilot train",
            "--demo")  # fmt: skip
    assert not (fresh / "reports").exists()


@pytest.mark.bad_input("validate", "models/manifest.json is damaged")
def test_manifest_damaged(numerpilot: Numerpilot, refused: Refused, trained: Path) -> None:
    (trained / "models" / "manifest.json").write_text('{"format": 2, "targ')
    before = snapshot(trained / "reports")
    refused(numerpilot("validate", "-C", str(trained)), 1, "manifest.json is damaged", "retrain")
    assert snapshot(trained / "reports") == before


@pytest.mark.bad_input("validate", "a model file of the bundle is missing")
def test_model_file_missing(numerpilot: Numerpilot, refused: Refused, trained: Path) -> None:
    model = sorted((trained / "models").glob("bundle-*/target*.txt"))[0]
    model.unlink()
    refused(numerpilot("validate", "-C", str(trained)), 1, f"{model.name} is missing", "retrain")


@pytest.mark.bad_input("validate", "validation.parquet of train's own last eras (all overlap)")
def test_validation_inside_train(numerpilot: Numerpilot, refused: Refused, trained: Path) -> None:
    """It said 'no rows in the selected eras ...; check data.era_step', which named no
    cause: every era was embargoed, being train's own."""
    train = pd.read_parquet(_data(trained) / layout.TRAIN)
    last = sorted(train["era"].unique())[-2:]  # train.embargo_eras = 2
    train[train["era"].isin(last)].to_parquet(_data(trained) / layout.VALIDATION)
    refused(numerpilot("validate", "-C", str(trained)), 1, "every era of validation.parquet",
            "Validate on eras after train's")  # fmt: skip


@pytest.mark.bad_input("validate", "validation.parquet with damaged pages")
def test_validation_damaged(numerpilot: Numerpilot, refused: Refused, trained: Path) -> None:
    _damage_pages(_data(trained) / layout.VALIDATION)
    before = snapshot(trained / "reports")
    refused(numerpilot("validate", "-C", str(trained)), 1, "validation.parquet is damaged")
    assert snapshot(trained / "reports") == before


@pytest.mark.bad_input("validate", "reports/ is not writable")
def test_reports_read_only(
    numerpilot: Numerpilot, refused: Refused, trained: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(trained / "reports")
    read_only(monkeypatch, trained / "reports")
    outcome = numerpilot("validate", "-C", str(trained))
    refused(outcome, 1, "Permission denied", "reports is not writable")
    assert "Predicting" not in outcome.out
    monkeypatch.undo()
    assert snapshot(trained / "reports") == before


# -- predict ----------------------------------------------------------------------------


def _predict_refused(numerpilot: Numerpilot, refused: Refused, wd: Path, *says: str) -> None:
    """``predict`` refuses with exit code 1, saying ``says``, and leaves predictions/ as it was."""
    before = snapshot(wd / "predictions")
    refused(numerpilot("predict", "-C", str(wd)), 1, *says)
    assert snapshot(wd / "predictions") == before


@pytest.mark.bad_input("predict", "live.parquet lacks features the models use")
def test_live_without_model_features(
    numerpilot: Numerpilot, refused: Refused, trained: Path
) -> None:
    live_path = _data(trained) / layout.LIVE
    medium = json.loads((live_path.parent / layout.FEATURES_JSON).read_text())["feature_sets"]
    pd.read_parquet(live_path).drop(columns=medium["medium"][:5]).to_parquet(live_path)
    _predict_refused(numerpilot, refused, trained, "live.parquet lacks 5 model features", "retrain")


@pytest.mark.bad_input("predict", "live.parquet lacks a feature the models neutralize against")
def test_live_without_a_neutralizer(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    (fresh / "numerpilot.toml").write_text(
        FAST_CONFIG + '\n[ensemble]\nneutralization_proportion = 0.5\nneutralize_against = "all"\n'
    )
    assert numerpilot("train", "-C", str(fresh)).code == 0
    live_path = _data(fresh) / layout.LIVE
    sets = json.loads((live_path.parent / layout.FEATURES_JSON).read_text())["feature_sets"]
    (outside,) = [f for f in sets["all"] if f not in set(sets["medium"])][:1]
    pd.read_parquet(live_path).drop(columns=[outside]).to_parquet(live_path)
    _predict_refused(numerpilot, refused, fresh, f"lacks 1 of the features the models "
                     f"neutralize against ({outside}", "neutralize_against")  # fmt: skip


@pytest.mark.bad_input("predict", "live.parquet with features as fractions (0, 0.25, ..., 1)")
def test_live_with_fractional_features(
    numerpilot: Numerpilot, refused: Refused, trained: Path
) -> None:
    live_path = _data(trained) / layout.LIVE
    frame = pd.read_parquet(live_path)
    features = [c for c in frame.columns if c.startswith("feature_")]
    frame[features] = frame[features].astype("float32") / 4
    frame.to_parquet(live_path)
    says = "; numerpilot expects Numerai's features, whole numbers 0..4"
    _predict_refused(numerpilot, refused, trained, says)


@pytest.mark.bad_input("predict", "live.parquet without ids")
def test_live_without_ids(numerpilot: Numerpilot, refused: Refused, trained: Path) -> None:
    live_path = _data(trained) / layout.LIVE
    pd.read_parquet(live_path).reset_index(drop=True).to_parquet(live_path)
    _predict_refused(
        numerpilot, refused, trained, "live.parquet has no 'id' column", "numerpilot download"
    )


@pytest.mark.bad_input("predict", "live.parquet has no rows")
def test_empty_live(numerpilot: Numerpilot, refused: Refused, trained: Path) -> None:
    live_path = _data(trained) / layout.LIVE
    pd.read_parquet(live_path).iloc[:0].to_parquet(live_path)
    refused(numerpilot("predict", "-C", str(trained)), 1, "live.parquet has no rows")


@pytest.mark.bad_input("predict", "live.parquet with damaged pages")
def test_live_damaged(numerpilot: Numerpilot, refused: Refused, trained: Path) -> None:
    _damage_pages(_data(trained) / layout.LIVE)
    _predict_refused(numerpilot, refused, trained, "live.parquet is damaged")


@pytest.mark.bad_input("predict", "predictions/ is not writable")
def test_predictions_read_only(
    numerpilot: Numerpilot, refused: Refused, trained: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_only(monkeypatch, trained / "predictions")
    refused(numerpilot("predict", "-C", str(trained)), 1, "predictions is not writable")


# -- run and --demo ---------------------------------------------------------------------


@pytest.mark.bad_input("run", "`--demo` where real models and predictions are")
def test_demo_refuses_to_replace_real_models(
    numerpilot: Numerpilot, refused: Refused, trained: Path
) -> None:
    before = snapshot(trained)
    refused(numerpilot("run", "--demo", "-C", str(trained)), 2, "models trained on v5.2 data",
            "live predictions of v5.2 data", "numerpilot run --demo -C demo")  # fmt: skip
    assert snapshot(trained) == before
    assert not (trained / "data" / "demo").exists()  # refused before generating demo data


@pytest.mark.bad_input("train", "`train --demo` where real models are")
def test_train_demo_refuses(numerpilot: Numerpilot, refused: Refused, trained: Path) -> None:
    before = snapshot(trained / "models")
    refused(numerpilot("train", "--demo", "-C", str(trained)), 2,
            "--demo writes demo models, predictions and reports here")  # fmt: skip
    assert snapshot(trained / "models") == before


@pytest.mark.bad_input("cv", "`cv --demo` where real models are")
def test_cv_demo_refuses(numerpilot: Numerpilot, refused: Refused, trained: Path) -> None:
    """Its reports would be taken for the real data's (it said it would replace the models)."""
    before = snapshot(trained)
    refused(numerpilot("cv", "--demo", "-C", str(trained)), 2, "models trained on v5.2 data",
            "demo models, predictions and reports here, in their place or beside them")  # fmt: skip
    assert snapshot(trained) == before


@pytest.mark.bad_input("predict", "`predict --demo` over a damaged models/manifest.json")
def test_demo_over_a_damaged_manifest_says_it_is_damaged(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path
) -> None:
    """A manifest that cannot be read is no evidence of real models: the command says what
    is wrong with it, not that --demo would replace real models."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "manifest.json").write_text('{"data_version": "v5', encoding="utf-8")
    refused(numerpilot("predict", "--demo", "-C", str(tmp_path)), 1, "manifest.json is damaged")


@pytest.mark.bad_input("run", "`--demo` together with `--model`")
def test_demo_with_model(numerpilot: Numerpilot, refused: Refused, tmp_path: Path) -> None:
    refused(numerpilot("run", "--demo", "--model", "x", "-C", str(tmp_path)), 2,
            "--demo never submits")  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_no_temporary_files_after_refusals(trained: Path) -> None:
    assert leftovers(trained) == []
