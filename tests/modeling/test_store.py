"""The bundle store: model files checked whole before LightGBM reads them, manifests checked
for their shape and against the bundle's own copy, leftovers cleaned at each switch."""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import Numerpilot, numerpilot_process
from tests.model_upload.conftest import DEMO_TOML
from tests.pipeline.conftest import FAST_CONFIG, make_workdir

from numerpilot.errors import DataError
from numerpilot.modeling.store import (
    MANIFEST,
    Manifest,
    kept_bundles,
    load_bundle,
    load_manifest,
    load_model_strings,
    rollback,
    save_bundle,
    unreadable_files,
)
from numerpilot.pipeline.context import Context
from numerpilot.pipeline.predict import config_drift
from numerpilot.pipeline.train import train_ensemble
from numerpilot.workdir import Workdir


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, synthetic_dir: Path) -> Path:
    root = make_workdir(tmp_path_factory.mktemp("store") / "wd", synthetic_dir)
    train_ensemble(Context.load(Workdir(root)))
    return root


@pytest.fixture
def work(tmp_path: Path, template: Path) -> Path:
    """A trained work dir of its own."""
    return Path(shutil.copytree(template, tmp_path / "wd"))


def _models(work: Path) -> Path:
    return work / "models"


def _tree_file(work: Path) -> Path:
    return sorted(_models(work).glob("bundle-*/target*.seed*.txt"))[0]


def _edit(path: Path, **changes: Any) -> None:
    raw = json.loads(path.read_text())
    raw.update(changes)
    path.write_text(json.dumps(raw))


def _retrained(work: Path, current: Manifest | None = None) -> str:
    """Publish another bundle (the current models, no training); returns its name."""
    models = _models(work)
    current = current or load_manifest(models)
    return save_bundle(models, current, load_model_strings(models, current)).bundle


# -- 1. model files cut short --------------------------------------------------------------


@pytest.mark.parametrize(
    "cut",
    [
        lambda text: text[: len(text) // 2],  # in the trees
        lambda text: text[: text.index("end of parameters")],  # in the parameters
        lambda text: text[:-6],  # in the last line
        lambda text: text.replace("Tree=0", "Tree=9"),  # the same size, another content
    ],
    ids=["trees", "parameters", "last-line", "changed"],
)
def test_a_model_file_not_as_saved_is_refused_before_it_is_parsed(work: Path, cut: Any) -> None:
    model = _tree_file(work)
    model.write_text(cut(model.read_text()))
    manifest = load_manifest(_models(work))
    with pytest.raises(DataError, match=f"{model.name} is damaged .*models rollback") as error:
        load_model_strings(_models(work), manifest)
    assert "cut short or changed" in str(error.value) or "SHA-256" in str(error.value)
    assert list(unreadable_files(_models(work), manifest)) == [model.name]


def _without_hashes(work: Path) -> None:
    """The bundle as an earlier numerpilot saved it: no SHA-256 or size per model file."""
    for path in _models(work).glob(f"**/{MANIFEST}"):
        raw = json.loads(path.read_text())
        del raw["files"]
        path.write_text(json.dumps(raw))


@pytest.mark.parametrize(
    ("cut", "says"),
    [
        (lambda text: text[: len(text) // 2], "ends before 'end of trees'"),
        (lambda text: text.replace("Tree=1\n", "Tree=x\n"), "trees where its header names"),
        (lambda text: text[: text.index("end of parameters")], "inside its parameters"),
        (lambda text: text[:-6], "last line is cut short"),
    ],
    ids=["trees", "tree-count", "parameters", "last-line"],
)
def test_an_old_bundle_cut_short_is_refused_by_its_shape(work: Path, cut: Any, says: str) -> None:
    _without_hashes(work)
    assert load_bundle(_models(work)).models  # whole: it loads
    model = _tree_file(work)
    model.write_text(cut(model.read_text()))
    with pytest.raises(DataError, match=f"{model.name} is damaged.*{says}"):
        load_bundle(_models(work))
    assert list(unreadable_files(_models(work), load_manifest(_models(work)))) == [model.name]


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda text: re.sub(r"^(leaf_value=).", r"\1x", text, count=1, flags=re.M),
         "LightGBM cannot read it: no conversion to double"),
        (lambda text: text.replace("\nthreshold=", "\nthreshold=1", 1),
         "its trees are not of the sizes its header names"),
    ],
    ids=["same-size", "tree-size"],
)  # fmt: skip
def test_an_old_bundle_changed_inside_a_tree_is_refused_not_aborted(
    work: Path, change: Any, says: str
) -> None:
    """LightGBM aborts the whole process on a tree it cannot parse (SIGABRT, no message)."""
    _without_hashes(work)
    model = _tree_file(work)
    model.write_text(change(model.read_text()))
    done = numerpilot_process("predict", "-C", str(work))
    assert done.code == 1, done.err
    assert f"{model.name} is damaged ({says}" in " ".join(done.err.split())
    assert list(unreadable_files(_models(work), load_manifest(_models(work)))) == [model.name]


def test_an_old_bundle_changed_inside_a_tree_is_not_built_into_a_pickle(work: Path) -> None:
    _without_hashes(work)
    model = _tree_file(work)
    model.write_text(model.read_text().replace("\nthreshold=", "\nthreshold=1", 1))
    done = numerpilot_process("build-upload", "-C", str(work))
    assert done.code == 1 and "is damaged" in done.err and not (work / "model.pkl").exists()


def test_an_old_bundle_with_json_cut_short_is_refused(work: Path) -> None:
    _without_hashes(work)
    linear = next(_models(work).glob("bundle-*/*.linear.txt"))
    linear.write_text(linear.read_text()[:-10])
    with pytest.raises(DataError, match=f"{linear.name} is damaged.*JSON is not complete"):
        load_bundle(_models(work))


def test_rollback_refuses_a_previous_bundle_cut_short(work: Path, numerpilot: Numerpilot) -> None:
    first = load_manifest(_models(work)).bundle
    second = _retrained(work)
    model = sorted((_models(work) / first).glob("target*.seed*.txt"))[0]
    model.write_bytes(model.read_bytes()[:1000])
    with pytest.raises(DataError, match=f"{first} cannot be used.*{model.name} is damaged"):
        rollback(_models(work))
    assert load_manifest(_models(work)).bundle == second
    listed = numerpilot("models", "list", "-C", str(work)).out.splitlines()
    assert listed[1].endswith(f"DAMAGED (cut short or changed: {model.name})")


# -- 3. manifest.json edited by hand -------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"weights": [1.0]}, "1 weight for 4 members"),
        ({"weights": "abc"}, "weights: not of the right type"),
        ({"targets": "target.seed0"}, "targets: not of the right type"),
        ({"targets": []}, "targets: not of the right type"),
        ({"weights": [1.0, "x", 1.0, 1.0]}, "weights: not of the right type"),
        ({"bundle": "../elsewhere"}, "bundle: not of the right type"),
        ({"files": {"target.seed0": {"sha256": "0", "bytes": 1}}}, "files does not name each"),
        ({"extra": 1}, "extra: no such field"),
    ],
)
def test_a_manifest_of_the_wrong_shape_is_damaged(
    work: Path, changes: dict[str, Any], says: str
) -> None:
    _edit(_models(work) / MANIFEST, **changes)
    with pytest.raises(DataError, match=rf"manifest.json is damaged \({says}.*\); ") as error:
        load_manifest(_models(work))
    restore = "retrain with" if "bundle" in changes else "(the bundle's own copy) over it"
    assert restore in str(error.value)


def test_a_manifest_saved_with_a_byte_order_mark_is_read(work: Path) -> None:
    """What Notepad writes: UTF-8 with a byte-order mark."""
    path = _models(work) / MANIFEST
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_bundle(_models(work)).manifest.bundle == load_manifest(_models(work)).bundle


@pytest.mark.parametrize("damage", ["{", "[]"])
def test_an_unreadable_manifest_names_a_copy_to_put_back(work: Path, damage: str) -> None:
    bundle = load_manifest(_models(work)).bundle
    (_models(work) / MANIFEST).write_text(damage)
    copy = _models(work) / bundle / MANIFEST
    with pytest.raises(DataError, match=f"is damaged.*; copy {copy} .* over it"):
        load_manifest(_models(work))
    shutil.copy(copy, _models(work) / MANIFEST)  # what the message says to do
    assert load_bundle(_models(work)).manifest.bundle == bundle


def test_a_manifest_without_its_fields_is_damaged(work: Path) -> None:
    raw = json.loads((_models(work) / MANIFEST).read_text())
    del raw["weights"]
    (_models(work) / MANIFEST).write_text(json.dumps(raw))
    with pytest.raises(DataError, match=r"is damaged \(it lacks weights\)"):
        load_manifest(_models(work))


def test_a_manifest_that_differs_from_its_bundle_copy_is_refused(work: Path) -> None:
    """Targets reversed by hand paired each model with another's weight, silently."""
    path = _models(work) / MANIFEST
    raw = json.loads(path.read_text())
    _edit(path, targets=raw["targets"][::-1])
    copy = _models(work) / raw["bundle"] / MANIFEST
    with pytest.raises(DataError, match=f"differs from its bundle's own copy in targets.*copy "
                                        f"{copy} .* over it"):  # fmt: skip
        load_manifest(_models(work))
    shutil.copy(copy, path)  # what the message says to do
    assert load_manifest(_models(work)).targets == raw["targets"]


def test_what_a_switch_writes_may_differ_from_the_bundle_copy(work: Path) -> None:
    _edit(_models(work) / MANIFEST, previous="", in_use_since="2020-01-01T00:00:00+00:00",
          created="2020-01-01T00:00:00+00:00")  # fmt: skip
    assert load_manifest(_models(work)).created.startswith("2020")


def test_a_nan_score_is_no_difference(work: Path) -> None:
    raw = json.loads((_models(work) / MANIFEST).read_text())
    scores = dict.fromkeys(raw["targets"], float("nan"))
    for path in (_models(work) / MANIFEST, _models(work) / raw["bundle"] / MANIFEST):
        _edit(path, holdout_scores=scores, ensemble_holdout=float("nan"))
    assert load_manifest(_models(work)).bundle == raw["bundle"]


def test_a_train_over_an_edited_manifest_keeps_the_bundle_it_names(work: Path) -> None:
    first = load_manifest(_models(work))
    _edit(_models(work) / MANIFEST, weights=[0.25, 0.25, 0.25, 0.25])  # refused now
    second = _retrained(work, first)
    assert [m.bundle for m in kept_bundles(_models(work))] == [second, first.bundle]


# -- 4. leftovers of a killed save or switch -----------------------------------------------


def _leftovers(models: Path, bundle: str) -> list[Path]:
    """What a SIGKILL leaves: temporary files of manifest.json and of a model file, and an
    unpublished bundle folder."""
    left = [models / ".manifest.json.abc123.tmp", models / bundle / ".target.seed0.txt.x1.tmp"]
    for path in left:
        path.write_text("{")
    (models / "bundle-20200101T000000000000-dead00").mkdir()
    return [*left, models / "bundle-20200101T000000000000-dead00"]


def test_a_save_removes_what_a_killed_one_left(work: Path) -> None:
    left = _leftovers(_models(work), load_manifest(_models(work)).bundle)
    (_models(work) / "predictions.csv.tmp").write_text("mine")  # not a model's: stays
    _retrained(work)
    assert not any(p.exists() for p in left)
    assert (_models(work) / "predictions.csv.tmp").exists()


def test_a_rollback_removes_leftovers_and_keeps_both_bundles(work: Path) -> None:
    first = load_manifest(_models(work)).bundle
    second = _retrained(work)
    left = _leftovers(_models(work), second)
    rollback(_models(work))
    assert not any(p.exists() for p in left)
    assert sorted(p.name for p in _models(work).glob("bundle-*")) == [first, second]
    assert rollback(_models(work))[1].bundle == second


# -- 5. what a missing file or folder says -------------------------------------------------


def test_a_missing_model_file_says_to_roll_back(work: Path) -> None:
    model = _tree_file(work)
    model.unlink()
    with pytest.raises(DataError, match=f"{model.name} is missing; retrain .*models rollback"):
        load_model_strings(_models(work), load_manifest(_models(work)))
    assert unreadable_files(_models(work), load_manifest(_models(work))) == {model.name: "missing"}


def test_a_manifest_from_another_work_dir_names_the_missing_folder(
    work: Path, tmp_path: Path
) -> None:
    other = Path(shutil.copytree(work, tmp_path / "other"))
    _retrained(other)
    shutil.copy(_models(other) / MANIFEST, _models(work) / MANIFEST)
    missing = _models(work) / load_manifest(_models(work)).bundle
    says = f"{missing}, the bundle folder that manifest.json names, is missing \\(removed, or"
    with pytest.raises(DataError, match=says):
        load_bundle(_models(work))


def test_models_retrain_takes_demo(tmp_path: Path, numerpilot: Numerpilot) -> None:
    """The message of a demo work dir says to add --demo: retrain must take it."""
    (tmp_path / "numerpilot.toml").write_text(DEMO_TOML)
    done = numerpilot("models", "retrain", "--demo", "-C", str(tmp_path))
    assert done.code == 0, done.out
    assert "New models now in use" in done.out
    assert load_manifest(tmp_path / "models").data_version == "demo"


def test_a_rollback_to_a_deleted_folder_names_it(work: Path) -> None:
    first = load_manifest(_models(work)).bundle
    second = _retrained(work)
    shutil.rmtree(_models(work) / first)
    with pytest.raises(DataError, match=f"folder {_models(work) / first} is missing"):
        rollback(_models(work))
    assert load_manifest(_models(work)).bundle == second


# -- 6. which models, and what changed since they were trained -----------------------------


def test_predict_names_its_bundle_and_another_data_version(
    work: Path, numerpilot: Numerpilot, caplog: pytest.LogCaptureFixture
) -> None:
    bundle = load_manifest(_models(work)).bundle
    (work / "data" / "v5.2").rename(work / "data" / "v5.3")  # a newer version downloaded
    with caplog.at_level(logging.INFO, logger="numerpilot.pipeline.predict"):
        assert numerpilot("predict", "-C", str(work)).code == 0
    said = [(r.levelname, r.getMessage()) for r in caplog.records if r.name.endswith("predict")]
    assert said[0][0] == "INFO" and said[0][1].startswith(f"using models {bundle} (trained ")
    assert said[0][1].endswith(", data v5.2)")
    assert ("WARNING", "the models in use were trained on data v5.2 and now predict on data "
            "v5.3; retrain with 'numerpilot train' to train on it.") in said  # fmt: skip


@pytest.mark.parametrize(
    ("config", "says"),
    [
        (FAST_CONFIG.replace('["target", "target_teager2b_20"]', '["target_teager2b_20"]'),
         "targets target_teager2b_20 (the models in use: target)"),
        (FAST_CONFIG + '\n[model]\nbackend = "xgboost"\n',
         "model backend 'xgboost' (the models in use: 'lightgbm')"),
        (FAST_CONFIG + "\n[model]\nlinear = false\n", "no linear members"),
        (FAST_CONFIG.replace('["target", "target_teager2b_20"]', '["target", "target_x"]'), None),
    ],
    ids=["targets", "backend", "linear", "target-added"],
)  # fmt: skip
def test_config_drift_names_targets_and_model_kinds(work: Path, config: str, says: str) -> None:
    (work / "numerpilot.toml").write_text(config)
    drift = config_drift(Context.load(Workdir(work)), load_manifest(_models(work)))
    if says is None:  # a target the models lack may be one train left out: no change
        assert drift is None
    else:
        assert drift is not None and says in drift and "'numerpilot train'" in drift
