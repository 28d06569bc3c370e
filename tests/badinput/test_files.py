"""Bad files: parquet columns, features.json, state.db, outputs onto inputs or folders."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.conftest import Numerpilot
from tests.support.catalogue import Outcome, Refused
from tests.support.fs import read_only, snapshot

from numerpilot.data import layout
from numerpilot.errors import DataError
from numerpilot.pipeline.context import Context
from numerpilot.sandbox import SandboxServer
from numerpilot.workdir import Workdir


def _data(root: Path) -> Path:
    return root / "data" / "v5.2"


@pytest.mark.bad_input("train", "a pinned data.version whose folder does not exist")
def test_pinned_version_missing(numerpilot: Numerpilot, refused: Refused, tmp_path: Path) -> None:
    (tmp_path / "numerpilot.toml").write_text('[data]\nversion = "v5.2"\nfeature_set = "all"\n')
    refused(numerpilot("train", "-C", str(tmp_path)), 1, "v5.2 does not exist",
            "numerpilot download")  # fmt: skip


@pytest.mark.bad_input("train", "a pinned data.version beside a dataset of your own")
def test_pinned_version_beside_own_files(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, synthetic_dir: Path
) -> None:
    """It said to point data.dir at the dataset's folder, which it already did."""
    (tmp_path / "numerpilot.toml").write_text(
        f'[data]\ndir = "{synthetic_dir}"\nversion = "v5.2"\nfeature_set = "all"\n'
    )
    refused(numerpilot("train", "-C", str(tmp_path)), 1, 'data.version = "v5.2" names a',
            "holds a dataset of your own", 'set data.version = "newest"')  # fmt: skip
    with pytest.raises(DataError, match="holds a dataset of your own"):  # validate, predict...
        Context.load(Workdir(tmp_path)).data_dir  # noqa: B018


# -- parquet columns --------------------------------------------------------------------


@pytest.mark.bad_input("predict", "live.parquet with a column name twice")
def test_repeated_column(numerpilot: Numerpilot, refused: Refused, trained: Path) -> None:
    path = _data(trained) / layout.LIVE
    table = pq.read_table(path)
    name = next(c for c in table.column_names if c.startswith("feature_"))
    pq.write_table(pa.Table.from_arrays([*table.columns, table.column(name)],
                                        names=[*table.column_names, name]), path)  # fmt: skip
    refused(numerpilot("predict", "-C", str(trained)), 1, "live.parquet has column names that "
            f"repeat ({name})", "download it again")  # fmt: skip


@pytest.mark.bad_input("predict", "live.parquet with rows of two eras")
def test_live_of_two_eras(numerpilot: Numerpilot, refused: Refused, trained: Path) -> None:
    """Predictions are ranked per era: a live file of two eras was submitted as two
    rankings in one, without a word."""
    path = _data(trained) / layout.LIVE
    live = pd.read_parquet(path)
    live["era"] = np.where(np.arange(len(live)) % 2 == 0, "1001", "1002")
    live.to_parquet(path)
    before = snapshot(trained / "predictions")
    refused(numerpilot("predict", "-C", str(trained)), 1, "holds 2 eras (1001, 1002)",
            "one live era")  # fmt: skip
    assert snapshot(trained / "predictions") == before


@pytest.mark.bad_input("predict", "live.parquet with ids that repeat")
def test_repeated_live_ids(numerpilot: Numerpilot, refused: Refused, trained: Path) -> None:
    path = _data(trained) / layout.LIVE
    live = pd.read_parquet(path)
    pd.concat([live, live.iloc[:2]]).to_parquet(path)
    before = snapshot(trained / "predictions")
    refused(numerpilot("predict", "-C", str(trained)), 1, "live.parquet has 2 ids that repeat",
            "keep one row per id")  # fmt: skip
    assert snapshot(trained / "predictions") == before


@pytest.mark.bad_input("validate", "validation.parquet with rows that repeat within an era")
def test_repeated_validation_rows(numerpilot: Numerpilot, refused: Refused, trained: Path) -> None:
    """They counted twice in their era's CORR (score refused such a file, validate not)."""
    path = _data(trained) / layout.VALIDATION
    frame = pd.read_parquet(path)
    pd.concat([frame, frame.iloc[:3]]).to_parquet(path)
    refused(numerpilot("validate", "-C", str(trained)), 1, "validation.parquet has 3 ids "
            "that repeat within an era", "keep one row per id")  # fmt: skip


@pytest.mark.bad_input("train", "era labels that are dates written month or day first")
def test_local_date_eras(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    """'10/09/2020' sorts before '12/27/2019' as text: the holdout and embargo took the
    wrong eras."""
    path = _data(fresh) / layout.TRAIN
    frame = pd.read_parquet(path)
    day = pd.Timestamp("2019-12-27") + pd.to_timedelta(frame["era"].astype(int) * 7, "D")
    frame.assign(era=day.dt.strftime("%m/%d/%Y")).to_parquet(path)
    refused(numerpilot("train", "-C", str(fresh)), 1, "the era column holds dates such as",
            "write them as YYYY-MM-DD")  # fmt: skip


def test_an_infinite_target_counts_as_missing(
    numerpilot: Numerpilot, fresh: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One inf target was trained on: leaves of 1e35 and a model that scored by chance."""
    path = _data(fresh) / layout.TRAIN
    frame = pd.read_parquet(path)
    frame.iloc[3, frame.columns.get_loc("target")] = np.inf
    frame.to_parquet(path)
    outcome = numerpilot("train", "-C", str(fresh))
    assert outcome.code == 0, outcome.err
    assert "infinite target values count as missing: target (1)" in caplog.text
    leaves = [float(v) for text in (fresh / "models").rglob("target*.txt")
              for line in text.read_text().splitlines() if line.startswith("leaf_value=")
              for v in line.split("=")[1].split()]  # fmt: skip
    assert leaves and max(abs(v) for v in leaves) < 10


@pytest.mark.bad_input("predict", "live.parquet without an era column")
def test_no_era_column(numerpilot: Numerpilot, refused: Refused, trained: Path) -> None:
    path = _data(trained) / layout.LIVE
    pd.read_parquet(path).drop(columns=[layout.ERA]).to_parquet(path)
    refused(numerpilot("predict", "-C", str(trained)), 1, "live.parquet has no 'era' column",
            "a dataset of your own needs an 'era' column")  # fmt: skip


# -- features.json ----------------------------------------------------------------------


@pytest.mark.bad_input("train", "features.json is not UTF-8")
def test_features_json_not_utf8(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    (_data(fresh) / layout.FEATURES_JSON).write_bytes(b"\xff{}")
    refused(numerpilot("train", "-C", str(fresh)), 1, "features.json is not UTF-8 text",
            "download it again")  # fmt: skip


@pytest.mark.bad_input("train", "a feature set in features.json that is a string, not a list")
def test_feature_set_not_a_list(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    (_data(fresh) / layout.FEATURES_JSON).write_text('{"feature_sets": {"medium": "x"}}')
    refused(numerpilot("train", "-C", str(fresh)), 1,
            "feature set 'medium' in", "is not a list of feature names")  # fmt: skip


# -- state.db ---------------------------------------------------------------------------


@pytest.mark.bad_input("status", "state.db is not a SQLite database")
def test_ledger_not_a_database(
    numerpilot: Numerpilot,
    refused: Refused,
    fresh: Path,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NUMERPILOT_API_URL", sandbox.url)
    (fresh / "state.db").write_bytes(b"garbage\n")
    refused(numerpilot("status", "-C", str(fresh)), 1, "state.db is not a numerpilot ledger",
            "Move it away", "starts a new ledger")  # fmt: skip
    assert (fresh / "state.db").read_bytes() == b"garbage\n"  # never replaced


# -- score ------------------------------------------------------------------------------


@pytest.fixture
def score_files(synthetic_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    """(predictions CSV, a copy of validation.parquet) in ``tmp_path``."""
    data = pd.read_parquet(synthetic_dir / "validation.parquet", columns=[layout.ERA, "target"])
    preds = tmp_path / "p.csv"
    values = np.random.default_rng(0).random(len(data))
    pd.DataFrame({"id": data.index, "prediction": values}).to_csv(preds, index=False)
    data.to_parquet(tmp_path / "v.parquet")
    return preds, tmp_path / "v.parquet"


def _score(numerpilot: Numerpilot, files: tuple[Path, Path], *more: str) -> Outcome:
    preds, data = files
    return numerpilot("score", str(preds), "--data", str(data), "-C", str(preds.parent), *more)


@pytest.mark.bad_input("score", "`--json` onto the predictions file")
def test_score_json_onto_input(
    numerpilot: Numerpilot, refused: Refused, score_files: tuple[Path, Path]
) -> None:
    before = snapshot(score_files[0].parent)
    refused(_score(numerpilot, score_files, "--json", str(score_files[0])), 2,
            "would overwrite the PRED file", "choose another path")  # fmt: skip
    assert snapshot(score_files[0].parent) == before


@pytest.mark.bad_input("score", "`--json` to a folder")
def test_score_json_folder(
    numerpilot: Numerpilot, refused: Refused, score_files: tuple[Path, Path], tmp_path: Path
) -> None:
    (tmp_path / "out").mkdir()
    refused(_score(numerpilot, score_files, "--json", str(tmp_path / "out")), 2,
            "out is a folder; give a file path")  # fmt: skip


@pytest.mark.bad_input("score", "a target that is the same in every era")
def test_score_constant_target(
    numerpilot: Numerpilot, refused: Refused, score_files: tuple[Path, Path]
) -> None:
    data = pd.read_parquet(score_files[1]).assign(target=0.5)
    data.to_parquet(score_files[1])
    refused(_score(numerpilot, score_files), 1, "the target column 'target' is constant or "
            "not finite in every era", "--target COL")  # fmt: skip


@pytest.mark.bad_input("score", "a target that is infinite everywhere")
@pytest.mark.filterwarnings("error::RuntimeWarning")  # none may reach the user
def test_score_infinite_target(
    numerpilot: Numerpilot, refused: Refused, score_files: tuple[Path, Path]
) -> None:
    data = pd.read_parquet(score_files[1]).assign(target=np.inf)
    data.to_parquet(score_files[1])
    refused(_score(numerpilot, score_files), 1, "is constant or not finite in every era")


# -- build-upload, submit ---------------------------------------------------------------


@pytest.mark.bad_input("build-upload", "`-o` onto models/manifest.json")
def test_build_upload_onto_models(numerpilot: Numerpilot, refused: Refused, trained: Path) -> None:
    before = snapshot(trained / "models")
    out = trained / "models" / "manifest.json"
    refused(numerpilot("build-upload", "-C", str(trained), "-o", str(out)), 2,
            "the trained models' folder", "choose another path")  # fmt: skip
    assert snapshot(trained / "models") == before


@pytest.mark.bad_input("build-upload", "`-o` onto the live predictions (or a dataset)")
def test_build_upload_onto_predictions(
    numerpilot: Numerpilot, refused: Refused, trained: Path
) -> None:
    """The checked submission file (or a dataset of data.dir) was replaced by a pickle."""
    preds = trained / "predictions" / "live_predictions.csv"
    preds.parent.mkdir(exist_ok=True)
    preds.write_text("id,prediction\na,0.5\n")
    refused(numerpilot("build-upload", "-C", str(trained), "-o", str(preds)), 2,
            "the predictions' folder", "choose another path")  # fmt: skip
    mine = trained / "mine.csv"
    mine.write_text("id,prediction\na,0.5\n")
    refused(numerpilot("build-upload", "-C", str(trained), "-o", str(mine)), 2,
            "which is not a model-upload file of numerpilot's; it is kept")  # fmt: skip
    assert preds.read_text() == mine.read_text() == "id,prediction\na,0.5\n"
    notes = trained / "keep.pkl.json"  # the sidecar's path, a file of the user's
    notes.write_text('{"my": "notes"}')
    refused(numerpilot("build-upload", "-C", str(trained), "-o", str(trained / "keep.pkl")), 2,
            "keep.pkl.json, which is not a model-upload file")  # fmt: skip
    assert notes.read_text() == '{"my": "notes"}' and not (trained / "keep.pkl").exists()
    assert numerpilot("build-upload", "-C", str(trained), "-o", str(trained / "m.pkl")).code == 0
    assert numerpilot("build-upload", "-C", str(trained), "-o", str(trained / "m.pkl")).code == 0


@pytest.mark.bad_input("build-upload", "`-o` to a folder")
def test_build_upload_folder(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    refused(numerpilot("build-upload", "-C", str(fresh), "-o", str(fresh / "data")), 2,
            "data is a folder; give a file path")  # fmt: skip


@pytest.mark.bad_input("build-upload", "`-o` onto a named pipe or a device such as /dev/null")
def test_build_upload_onto_a_pipe(numerpilot: Numerpilot, refused: Refused, trained: Path) -> None:
    """It replaced the pipe with a file (run as root, `-o /dev/null` replaced the device)."""
    pipe = trained / "pipe"
    os.mkfifo(pipe)
    refused(numerpilot("build-upload", "-C", str(trained), "-o", str(pipe)), 2,
            "which is not a regular file (a device or a pipe)")  # fmt: skip
    assert stat.S_ISFIFO(pipe.stat().st_mode) and not (trained / "pipe.json").exists()


@pytest.mark.bad_input("build-upload", "`-o` whose sidecar (`<out>.json`) is a folder")
def test_build_upload_sidecar_folder(
    numerpilot: Numerpilot, refused: Refused, trained: Path
) -> None:
    """Refused before the build (it was refused after it, as '--out: ... is a folder')."""
    (trained / "m.pkl.json").mkdir()
    refused(numerpilot("build-upload", "-C", str(trained), "-o", str(trained / "m.pkl")), 2,
            "would write its sidecar", "m.pkl.json, which is a folder")  # fmt: skip
    assert not (trained / "m.pkl").exists()


@pytest.mark.bad_input("build-upload", "`-o` into a folder that is not writable")
def test_build_upload_read_only(
    numerpilot: Numerpilot, refused: Refused, trained: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folder of --out is named, not the work directory (it said 'choose another work
    directory with -C')."""
    read_only(monkeypatch, trained / "ro")
    out = trained / "ro" / "m.pkl"
    outcome = numerpilot("build-upload", "-C", str(trained), "-o", str(out))
    line = refused(outcome, 1, f"{out.parent} is not writable", "or choose another path.")
    assert "with -C" not in line


@pytest.mark.bad_input("submit", "`--file` to a folder")
def test_submit_folder(numerpilot: Numerpilot, refused: Refused, fresh: Path) -> None:
    refused(numerpilot("submit", "--file", str(fresh / "data"), "--dry-run", "-C", str(fresh)), 2,
            "data is a folder; give a file path")  # fmt: skip
