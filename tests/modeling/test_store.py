"""The bundle store: model files checked whole before LightGBM reads them, manifests checked
for their shape and against the bundle's own copy, leftovers cleaned at each switch."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import Numerpilot, numerpilot_process
from tests.model_upload.conftest import DEMO_TOML
from tests.pipeline.conftest import FAST_CONFIG, make_workdir
from tests.support.catalogue import Refused
from tests.support.fs import read_only

from numerpilot.errors import DataError
from numerpilot.modeling.manifest import MANIFEST, Manifest, load_manifest
from numerpilot.modeling.store import (
    kept_bundles,
    load_bundle,
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
        # a neutralizer set the data lacks hid every other change (here the feature set)
        (FAST_CONFIG.replace('"medium"', '"small"') + "\n[ensemble]\n"
         'neutralization_proportion = 0.5\nneutralize_against = "gigantic"\n',
         "Besides, numerpilot.toml asks for feature set 'small' (the models in use: 'medium')"),
    ],
    ids=["targets", "backend", "linear", "target-added", "feature-set-and-unknown-neutralizer"],
)  # fmt: skip
def test_config_drift_names_targets_and_model_kinds(work: Path, config: str, says: str) -> None:
    (work / "numerpilot.toml").write_text(config)
    drift = config_drift(Context.load(Workdir(work)), load_manifest(_models(work)))
    if says is None:  # a target the models lack may be one train left out: no change
        assert drift is None
    else:
        assert drift is not None and says in drift and "'numerpilot train'" in drift


# -- 7. retrain over damaged models, hints, old layout, a manifest with no copy -----------


def _damage(models: Path, bundle: str) -> Path:
    """Cut a model file of ``bundle`` short; returns it."""
    model = sorted((models / bundle).glob("target*.seed*.txt"))[0]
    model.write_bytes(model.read_bytes()[:1000])
    return model


def test_a_retrain_over_damaged_models_keeps_the_last_good_ones(
    work: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The damaged bundle was kept as "previous": a rollback led to models that cannot load."""
    models = _models(work)
    good = load_manifest(models)
    damaged = _retrained(work)
    model = _damage(models, damaged)
    with caplog.at_level(logging.WARNING, logger="numerpilot.modeling.store"):
        newest = _retrained(work, good)  # e.g. 'models retrain': the current ones fail
    assert load_manifest(models).previous == good.bundle
    assert not (models / damaged).exists()
    assert f"({damaged}) are damaged ({model.name}: " in caplog.text
    assert f"{good.bundle}, the bundle before them, is kept" in caplog.text
    assert rollback(models)[1].bundle == good.bundle
    assert load_bundle(models).manifest.previous == newest


def test_a_retrain_over_damaged_models_with_none_good_keeps_none(work: Path) -> None:
    models = _models(work)
    first = load_manifest(models)
    strings = load_model_strings(models, first)
    second = _retrained(work)
    _damage(models, first.bundle)
    _damage(models, second)
    save_bundle(models, first, strings)
    assert load_manifest(models).previous == ""
    assert sorted(p.name for p in models.glob("bundle-*")) == [load_manifest(models).bundle]
    with pytest.raises(DataError, match="no earlier bundle is kept .*'numerpilot models retrain'"):
        rollback(models)


def _as_demo(models: Path) -> None:
    """Models of the demo data (``data_version`` "demo")."""
    for path in models.glob(f"**/{MANIFEST}"):
        _edit(path, data_version="demo")


@pytest.mark.parametrize("damage", ["remove", "cut"])
def test_a_refused_rollback_of_demo_models_says_retrain_with_demo(work: Path, damage: str) -> None:
    models = _models(work)
    first = load_manifest(models).bundle
    _retrained(work)
    _as_demo(models)
    if damage == "remove":
        shutil.rmtree(models / first)
    else:
        _damage(models, first)
    with pytest.raises(DataError) as error:
        rollback(models)
    assert str(error.value).endswith(
        "retrain with 'numerpilot models retrain --demo' to have a bundle to go back to."
    )


def test_a_refused_rollback_says_retrain_without_demo_for_real_data(work: Path) -> None:
    first = load_manifest(_models(work)).bundle
    _retrained(work)
    _damage(_models(work), first)
    with pytest.raises(DataError, match="cannot be used.*'numerpilot models retrain' to have"):
        rollback(_models(work))


def _rename_member(raw: dict[str, Any], old: str, new: str) -> None:
    """Rename a member everywhere a manifest names it."""
    raw["targets"] = [new if t == old else t for t in raw["targets"]]
    for key in ("best_iterations", "holdout_scores", "kinds", "files"):
        if old in raw.get(key, {}):
            raw[key][new] = raw[key].pop(old)


def _flat_layout(models: Path, rename: tuple[str, str]) -> list[str]:
    """The bundle as numerpilot wrote it before bundle folders (format 1: model files beside
    the manifest, no copy, no SHA-256), with one member renamed; returns its file names."""
    raw = json.loads((models / MANIFEST).read_text())
    folder = models / raw["bundle"]
    (folder / f"{rename[0]}.txt").rename(folder / f"{rename[1]}.txt")
    _rename_member(raw, *rename)
    for text in folder.glob("*.txt"):
        shutil.move(text, models / text.name)
    shutil.rmtree(folder)
    raw.update(format=1)
    for key in ("bundle", "files", "previous", "in_use_since"):
        raw.pop(key)
    (models / MANIFEST).write_text(json.dumps(raw))
    return [f"{target}.txt" for target in raw["targets"]]


def test_the_old_layout_moves_whole_and_leaves_other_files_alone(
    work: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A member not named target* stayed behind; a user's target_notes.txt was deleted."""
    models = _models(work)
    names = _flat_layout(models, ("target.seed1", "main.seed1"))
    mine = {"target_notes.txt": "my notes", "notes.txt": "more notes"}
    for name, text in mine.items():
        (models / name).write_text(text)
    old = load_bundle(models)
    with caplog.at_level(logging.INFO, logger="numerpilot.modeling.store"):
        _retrained(work, old.manifest)
    current = load_manifest(models)
    assert sorted(p.name for p in (models / current.previous).glob("*.txt")) == sorted(names)
    assert sorted(p.name for p in models.glob("*.txt")) == sorted(mine)  # only the user's
    assert all((models / name).read_text() == text for name, text in mine.items())
    assert f"moved into {models / current.previous}" in caplog.text
    assert "holds notes.txt, target_notes.txt, which no kept bundle holds" in caplog.text
    assert rollback(models)[1].bundle == current.previous
    assert load_bundle(models).payload["models"] == old.payload["models"]


def test_damaged_models_of_the_old_layout_stay_where_they_were(work: Path) -> None:
    models = _models(work)
    names = _flat_layout(models, ("target.seed1", "main.seed1"))
    strings = load_model_strings(models, load_manifest(models))
    flat = load_manifest(models)
    (models / names[0]).write_text("cut")
    save_bundle(models, flat, strings)
    assert load_manifest(models).previous == ""
    assert sorted(p.name for p in models.glob("*.txt")) == sorted(names)  # nothing lost


def _without_copy(models: Path) -> dict[str, Any]:
    """manifest.json whose bundle folder lost its own copy; returns manifest.json's fields."""
    raw = json.loads((models / MANIFEST).read_text())
    (models / raw["bundle"] / MANIFEST).unlink()
    return raw


def test_a_member_taken_out_by_hand_with_no_copy_is_refused(work: Path) -> None:
    models = _models(work)
    raw = _without_copy(models)
    dropped = raw["targets"][0]
    raw["targets"] = raw["targets"][1:]
    raw["weights"] = raw["weights"][1:]
    del raw["files"][dropped]
    (models / MANIFEST).write_text(json.dumps(raw))
    with pytest.raises(
        DataError,
        match=f"does not fit .*: it names no member for {dropped}.txt "
        r"\(edited by hand\?\), and the bundle's own copy",
    ):
        load_bundle(models)


@pytest.mark.parametrize("edit", ["renamed", "hash"])
def test_a_member_changed_by_hand_with_no_copy_is_refused_by_name(work: Path, edit: str) -> None:
    models = _models(work)
    raw = _without_copy(models)
    member = raw["targets"][0]
    if edit == "renamed":  # another member's name: its file is not there
        _rename_member(raw, member, "target_x.seed0")
        says = f"no member for {member}.txt, and names target_x.seed0.txt, which is not there"
    else:
        raw["files"][member]["sha256"] = "0" * 64
        says = f"{member}.txt is damaged \\(its content is not what was saved"
    (models / MANIFEST).write_text(json.dumps(raw))
    with pytest.raises(DataError, match=says):
        load_bundle(models)


@pytest.mark.bad_input("models rollback", "a read-only models folder")
def test_a_rollback_in_a_read_only_models_folder_names_the_folder(
    work: Path, numerpilot: Numerpilot, refused: Refused, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It said manifest.json was not writable: a chmod of that file would not help."""
    current = load_manifest(_models(work)).bundle
    _retrained(work)
    after = load_manifest(_models(work)).bundle
    read_only(monkeypatch, _models(work))
    refused(
        numerpilot("models", "rollback", "-C", str(work)), 1, f"{_models(work)} is not writable"
    )
    monkeypatch.undo()
    assert load_manifest(_models(work)).bundle == after != current


def test_old_layout_files_a_killed_publish_left_go_at_the_next_one(work: Path) -> None:
    """Killed between the new manifest.json and removing the flat names (still links to the
    files of the folder they moved to): the next publish removes them, even once that
    folder is no longer kept."""
    models = _models(work)
    _flat_layout(models, ("target.seed1", "main.seed1"))
    flat = load_manifest(models)
    _retrained(work, flat)
    moved = models / load_manifest(models).previous
    for path in moved.glob("*.txt"):  # what the kill left
        os.link(path, models / path.name)
    _retrained(work)
    _retrained(work)
    assert not moved.exists() and not list(models.glob("*.txt"))


def test_an_old_bundle_is_parsed_in_full_once_per_process(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each load parsed every model file of a bundle without SHA-256 twice (check, build)."""
    from numerpilot.modeling import model_files

    _without_hashes(work)
    parsed: list[str] = []
    real = model_files.trial_parse_problem
    monkeypatch.setattr(model_files, "_CHECKED", {}, raising=False)
    monkeypatch.setattr(model_files, "trial_parse_problem",
                        lambda text: parsed.append(text) or real(text))  # fmt: skip
    manifest = load_manifest(_models(work))
    trees = [t for t in manifest.targets if manifest.kinds.get(t) != "linear"]
    for _ in range(3):
        load_bundle(_models(work))
    assert len(parsed) == len(trees)
    model = _tree_file(work)  # changed (the same size): checked again, and refused
    model.write_text(re.sub(r"^(leaf_value=).", r"\1x", model.read_text(), count=1, flags=re.M))
    with pytest.raises(DataError, match=f"{model.name} is damaged \\(LightGBM cannot read it"):
        load_bundle(_models(work))
    assert len(parsed) == len(trees) + 1


def test_models_retrain_over_damaged_models_says_they_could_not_be_validated(
    work: Path, numerpilot: Numerpilot, caplog: pytest.LogCaptureFixture
) -> None:
    """It said "current before: none", as if there had been no models."""
    damaged = load_manifest(_models(work)).bundle
    _damage(_models(work), damaged)
    with caplog.at_level(logging.WARNING):
        done = numerpilot("models", "retrain", "-C", str(work))
    assert done.code == 0, done.err
    assert "current before: could not be validated, see the warning above" in done.out
    assert f"models in use until now ({damaged}) are damaged" in caplog.text
    assert "no usable bundle is left to roll back to" in caplog.text
    (said,) = [r.getMessage() for r in caplog.records if "cannot be validated" in r.getMessage()]
    assert said.endswith("), so the new ones replace them") and "rollback" not in said, said
    assert load_manifest(_models(work)).previous == ""


@pytest.mark.bad_input("models list", "a folder named manifest.json, or a file named models")
@pytest.mark.parametrize("what", ["manifest", "models"])
def test_a_folder_or_file_in_place_of_the_models_says_so(
    work: Path, numerpilot: Numerpilot, refused: Refused, what: str
) -> None:
    """A folder manifest.json said "give a file path"; a file models/ said "no trained models"."""
    models = _models(work)
    if what == "manifest":
        (models / MANIFEST).unlink()
        (models / MANIFEST).mkdir()
        says = f"{models / MANIFEST} is a folder, not the manifest of the trained models"
    else:
        shutil.rmtree(models)
        models.write_text("x")
        says = f"{models} is a file, not the folder of the trained models"
    for args in (("models", "rollback"), ("predict",), ("models", "list")):  # listed: the last
        refused(numerpilot(*args, "-C", str(work)), 1, says)


@pytest.mark.parametrize("damage", ["folder", "manifest"])
def test_models_list_shows_a_kept_bundle_it_cannot_read(
    work: Path, numerpilot: Numerpilot, damage: str
) -> None:
    """It was left out of the list without a word."""
    first = load_manifest(_models(work)).bundle
    _retrained(work)
    if damage == "folder":
        shutil.rmtree(_models(work) / first)
    else:
        (_models(work) / first / MANIFEST).write_text("{")
    listed = numerpilot("models", "list", "-C", str(work)).out.splitlines()
    said = "folder missing" if damage == "folder" else "its manifest.json is missing or unreadable"
    assert listed[1] == f"  {first}  DAMAGED ({said})"


def test_a_rollback_without_models_leaves_no_lock_file(
    tmp_path: Path, numerpilot: Numerpilot, refused: Refused
) -> None:
    """Refused, it still left models.lock in the folder (a typo's folder, say)."""
    refused(numerpilot("models", "rollback", "-C", str(tmp_path)), 1, "no trained models")
    assert list(tmp_path.iterdir()) == []


def _both_manifests(models: Path, change: Any) -> None:
    """Edit ``manifest.json`` and the current bundle's own copy alike (so that they agree)."""
    bundle = load_manifest(models).bundle
    for path in (models / MANIFEST, models / bundle / MANIFEST):
        raw = json.loads(path.read_text())
        change(raw)
        path.write_text(json.dumps(raw))


@pytest.mark.bad_input("predict", "a manifest naming other features than its model files take")
@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda raw: raw.update(features=raw["features"][:-5]), "features, the manifest names"),
        (lambda raw: raw["features"].reverse(), "feature 1 of the model is"),
    ],
    ids=["fewer", "reordered"],
)  # fmt: skip
def test_a_manifest_whose_features_do_not_match_the_model_files_is_refused(
    work: Path, numerpilot: Numerpilot, refused: Refused, change: Any, says: str
) -> None:
    """Fewer features: predict failed in LightGBM (exit 70) and build-upload wrote a pickle
    that fails in Numerai's runtime; reordered: both ran the models on the wrong columns."""
    models = _models(work)
    _both_manifests(models, change)
    for args in (("predict",), ("build-upload",)):
        refused(numerpilot(*args, "-C", str(work)), 1, "does not match", says, "models rollback")
    assert not (work / "model.pkl").exists()


def test_the_feature_check_accepts_every_member_kind_as_trained(work: Path) -> None:
    manifest = load_manifest(_models(work))
    texts = load_model_strings(_models(work), manifest)
    assert {manifest.kinds.get(t, "lightgbm") for t in texts} == {"lightgbm", "linear"}


@pytest.mark.bad_input("predict", "models saved by a newer numerpilot (a field this one lacks)")
def test_a_manifest_of_a_newer_numerpilot_says_upgrade_not_damaged(
    work: Path, numerpilot: Numerpilot, refused: Refused
) -> None:
    """It said "damaged" and told to copy the manifest of older models over it (a rollback
    in disguise), where upgrading numerpilot would read the models as they are."""
    older = load_manifest(_models(work)).bundle
    _retrained(work)

    def newer(raw: dict[str, Any]) -> None:
        raw["versions"]["numerpilot"] = "99.1.0"
        raw["calibration"] = {"kind": "isotonic"}

    _both_manifests(_models(work), newer)
    says = ("calibration: no such field", "by numerpilot 99.1.0, newer than this", "pip install")
    line = refused(numerpilot("predict", "-C", str(work)), 1, *says)
    assert "damaged" not in line and older not in line


def test_models_list_says_the_current_bundles_folder_is_missing(
    work: Path, numerpilot: Numerpilot
) -> None:
    """It listed each of its model files as "missing or empty" (and 8 more)."""
    _retrained(work)
    current = load_manifest(_models(work)).bundle
    shutil.rmtree(_models(work) / current)
    listed = numerpilot("models", "list", "-C", str(work)).out.splitlines()
    assert listed[0].startswith(f"* {current}  trained ")
    assert listed[0].endswith("  DAMAGED (folder missing)"), listed[0]


def test_models_list_says_the_current_bundles_own_manifest_is_gone(
    work: Path, numerpilot: Numerpilot
) -> None:
    """It was listed as whole, though a rollback from it could never come back (and a
    retrain does not keep it): nothing but manifest.json described it any more."""
    _retrained(work)
    current = load_manifest(_models(work)).bundle
    (_models(work) / current / MANIFEST).write_text("{")
    listed = numerpilot("models", "list", "-C", str(work)).out.splitlines()
    assert listed[0].endswith("  DAMAGED (its manifest.json is missing or unreadable)"), listed
    assert "DAMAGED" not in listed[1]
