"""A full disk anywhere: one line, exit 1, and every file whole (the old one or none)."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from tests.conftest import Numerpilot, numerpilot_process
from tests.support.catalogue import Refused
from tests.support.fs import disk_full, leftovers, snapshot

from numerpilot.data.live_round import write_live_round
from numerpilot.io import current_umask
from numerpilot.modeling.manifest import load_manifest


@pytest.mark.bad_input("train", "the disk fills up while a retrained bundle is saved")
def test_full_disk_while_retraining_keeps_the_old_bundle(
    numerpilot: Numerpilot, refused: Refused, trained: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = trained / "models"
    before = snapshot(models)
    old_predictions = pd.read_csv(trained / "predictions" / "live_predictions.csv")
    disk_full(monkeypatch, models, after=0)  # the first model file hits the full disk
    refused(numerpilot("train", "-C", str(trained)), 1, "The disk is full", "target", ".txt",
            "Nothing was half-written")  # fmt: skip
    monkeypatch.undo()
    assert snapshot(models) == before  # the previous bundle, whole, still in use
    assert leftovers(trained) == []
    assert numerpilot("predict", "-C", str(trained)).code == 0
    again = pd.read_csv(trained / "predictions" / "live_predictions.csv")
    pd.testing.assert_frame_equal(again, old_predictions)


@pytest.mark.bad_input("validate", "the disk fills up while the report is written")
def test_full_disk_while_writing_the_report(
    numerpilot: Numerpilot, refused: Refused, trained: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(trained / "reports")
    disk_full(monkeypatch, trained / "reports")
    refused(numerpilot("validate", "-C", str(trained)), 1, "The disk is full", "validation.html")
    monkeypatch.undo()
    assert snapshot(trained / "reports") == before and leftovers(trained) == []


@pytest.mark.bad_input("predict", "the disk fills up while predictions are written")
def test_full_disk_while_predicting(
    numerpilot: Numerpilot, refused: Refused, trained: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(trained / "predictions")
    disk_full(monkeypatch, trained / "predictions")
    refused(numerpilot("predict", "-C", str(trained)), 1, "The disk is full")
    monkeypatch.undo()
    assert snapshot(trained / "predictions") == before and leftovers(trained) == []


@pytest.mark.bad_input("init", "the disk is full")
def test_full_disk_on_init(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk_full(monkeypatch, tmp_path)
    refused(numerpilot("init", str(tmp_path)), 1, "The disk is full", "numerpilot.toml")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.bad_input("score", "the disk fills up while `--json` is written")
def test_full_disk_on_score_json(
    numerpilot: Numerpilot,
    refused: Refused,
    synthetic_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    val = pd.read_parquet(synthetic_dir / "validation.parquet", columns=["era"])
    preds = tmp_path / "p.csv"
    pd.DataFrame({"id": val.index, "prediction": range(len(val))}).to_csv(preds, index=False)
    out = tmp_path / "out"
    out.mkdir()
    disk_full(monkeypatch, out)
    outcome = numerpilot("score", str(preds), "--data", str(synthetic_dir / "validation.parquet"),
                         "--json", str(out / "s.json"), "-C", str(tmp_path))  # fmt: skip
    refused(outcome, 1, "The disk is full", "s.json")
    monkeypatch.undo()
    assert list(out.iterdir()) == []


# -- what is written, and with which permissions ----------------------------------------


def test_files_get_the_umask_permissions(numerpilot: Numerpilot, trained: Path) -> None:
    assert numerpilot("init", str(trained), "--force").code == 0
    written = [
        trained / "numerpilot.toml",
        trained / "models" / "manifest.json",
        trained / "reports" / "validation.html",
        trained / "reports" / "validation.json",
        trained / "predictions" / "live_predictions.csv",
        *trained.glob("models/bundle-*/*.txt"),
    ]
    expected = 0o666 & ~current_umask()
    assert all(p.stat().st_mode & 0o777 == expected for p in written), [
        (p.name, oct(p.stat().st_mode & 0o777)) for p in written
    ]


def _old_layout(models: Path) -> None:
    """The bundle as numerpilot wrote them before bundle folders (format 1, files beside)."""
    manifest = json.loads((models / "manifest.json").read_text())
    (bundle,) = models.glob("bundle-*")
    for text in bundle.glob("*.txt"):
        shutil.move(text, models / text.name)
    shutil.rmtree(bundle)  # format 1 kept no copy of the manifest in a folder
    manifest.update(format=1)
    for key in ("bundle", "files", "previous", "in_use_since"):  # none of them recorded
        manifest.pop(key)
    (models / "manifest.json").write_text(json.dumps(manifest))


def test_retraining_keeps_two_bundles_and_reads_the_old_layout(
    numerpilot: Numerpilot, trained: Path
) -> None:
    """The first train over a format-1 bundle deleted its files with no way back: they move
    into a bundle folder of their own, kept for 'models rollback'."""
    models = trained / "models"
    _old_layout(models)
    assert load_manifest(models).bundle == ""
    assert numerpilot("predict", "-C", str(trained)).code == 0
    live = trained / "predictions" / "live_predictions.csv"
    old_predictions = pd.read_csv(live)
    old_texts = {p.name: p.read_text() for p in models.glob("*.txt")}
    assert numerpilot("train", "-C", str(trained)).code == 0
    current = load_manifest(models)
    assert current.previous and not list(models.glob("*.txt"))  # the flat files moved
    assert {p.name: p.read_text() for p in (models / current.previous).glob("*.txt")} == old_texts
    listed = numerpilot("models", "list", "-C", str(trained)).out
    assert current.previous in listed and "DAMAGED" not in listed
    assert numerpilot("models", "rollback", "-C", str(trained)).code == 0
    assert load_manifest(models).bundle == current.previous
    assert numerpilot("predict", "-C", str(trained)).code == 0
    pd.testing.assert_frame_equal(pd.read_csv(live), old_predictions)  # the old models, whole
    for _ in range(3):
        assert numerpilot("train", "-C", str(trained)).code == 0
    folders = sorted(p.name for p in models.glob("bundle-*"))
    assert len(folders) == 2 and load_manifest(models).bundle == folders[-1]
    assert not list(models.glob("*.txt"))


def _cut_short(models: Path) -> Path:
    """A LightGBM model file of the bundle in use cut in the middle of its trees."""
    model = sorted(models.glob("bundle-*/target*.seed*.txt"))[0]
    model.write_bytes(model.read_bytes()[: model.stat().st_size * 2 // 3])
    return model


@pytest.mark.bad_input("predict", "a model file cut short (a full disk, a copy cut off)")
def test_a_model_file_cut_short(refused: Refused, trained: Path) -> None:
    """LightGBM's C++ library aborted the process on it (exit 134, no message; the daemon
    died with no failed round and no alert): it is refused before LightGBM reads it."""
    model = _cut_short(trained / "models")
    done = numerpilot_process("predict", "-C", str(trained))  # an abort kills no test run
    refused(done, 1, f"{model.name} is damaged", "cut short", "models rollback", "retrain")


def test_a_model_file_cut_short_is_damaged_everywhere(
    numerpilot: Numerpilot, trained: Path, tmp_path: Path
) -> None:
    model = _cut_short(trained / "models")
    listed = numerpilot("models", "list", "-C", str(trained)).out
    assert f"DAMAGED (cut short or changed: {model.name})" in listed
    for args in (("validate",), ("build-upload", "-o", str(tmp_path / "m.pkl"))):
        done = numerpilot_process(*args, "-C", str(trained))
        assert done.code == 1 and f"{model.name} is damaged" in done.err, done.err
    assert not (tmp_path / "m.pkl").exists()


# -- predict says when its file is valid for submission ---------------------------------


def _live_round(root: Path, closes: datetime) -> None:
    write_live_round(root / "data" / "v5.2", 1234, {}, closes=closes)


def test_predict_with_a_live_file_of_a_closed_round(numerpilot: Numerpilot, trained: Path) -> None:
    _live_round(trained, datetime.now(UTC) - timedelta(days=2))
    done = numerpilot("predict", "-C", str(trained))
    assert done.code == 0
    assert "valid for submission" not in done.out
    assert "round 1234, which is closed" in done.err and "numerpilot download" in done.err


def test_predict_with_a_live_file_of_the_open_round(numerpilot: Numerpilot, trained: Path) -> None:
    _live_round(trained, datetime.now(UTC) + timedelta(hours=3))
    done = numerpilot("predict", "-C", str(trained))
    assert done.code == 0 and done.err == ""
    assert "round 1234, valid for submission until" in done.out


def test_predict_without_a_recorded_round_does_not_promise(
    numerpilot: Numerpilot, trained: Path
) -> None:
    done = numerpilot("predict", "-C", str(trained))
    assert done.code == 0 and "valid for submission" not in done.out
    assert "not recorded" in done.out


# -- links: a report linked elsewhere, folders on another file system -------------------

#: Another file system than the tests' temporary folder, where the machine has one.
SHM = Path("/dev/shm")


def test_validate_writes_through_a_linked_report(numerpilot: Numerpilot, trained: Path) -> None:
    """A report linked into a web server's folder: the link was replaced by a plain file and
    the served page silently stayed the old one."""
    served = trained.parent / "www" / "validation.html"
    served.parent.mkdir()
    report = trained / "reports" / "validation.html"
    shutil.move(report, served)
    served.write_text("last week's report")
    report.symlink_to(served)
    assert numerpilot("validate", "-C", str(trained)).code == 0
    assert report.is_symlink() and "last week" not in served.read_text()
    assert "<html" in served.read_text().lower()


@pytest.mark.skipif(not SHM.is_dir() or os.stat(SHM).st_dev == os.stat("/tmp").st_dev,
                    reason="no second file system at /dev/shm")  # fmt: skip
def test_models_and_reports_linked_to_another_file_system(
    numerpilot: Numerpilot, trained: Path
) -> None:
    elsewhere = SHM / f"numerpilot-test-{os.getpid()}"
    elsewhere.mkdir()
    try:
        for name in ("models", "reports"):
            shutil.move(trained / name, elsewhere / name)
            (trained / name).symlink_to(elsewhere / name)
        assert numerpilot("train", "-C", str(trained)).code == 0
        assert numerpilot("validate", "-C", str(trained)).code == 0
        assert numerpilot("models", "rollback", "-C", str(trained)).code == 0
        assert (trained / "models").is_symlink() and (trained / "reports").is_symlink()
        assert json.loads((elsewhere / "reports" / "validation.json").read_text())
        assert list(elsewhere.rglob("*.tmp")) == []
    finally:
        shutil.rmtree(elsewhere, ignore_errors=True)
