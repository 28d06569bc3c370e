"""cv.include_validation on a dataset of your own whose validation eras reuse train's era
labels: the rows of both files are one era each, and a note says so."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from tests.pipeline.conftest import FAST_CONFIG, CliRunner, make_workdir

CV = "\n[cv]\nfolds = 2\ntest_eras = 4\ninclude_validation = true\n"


def test_validation_eras_that_are_train_eras_too_are_named(
    cli: CliRunner, tmp_path: Path, synthetic_dir: Path
) -> None:
    wd = make_workdir(tmp_path / "wd", synthetic_dir, FAST_CONFIG + CV)
    path = wd / "data" / "v5.2" / "validation.parquet"
    frame = pd.read_parquet(path)
    first = int(sorted(frame["era"].unique())[0])  # 0041: labelled 0037 to 0052 instead
    frame["era"] = [f"{int(e) - 4:04d}" for e in frame["era"]]
    frame.to_parquet(path)
    code, out = cli("cv", "-C", str(wd))
    assert code == 0, out
    note = (
        f"4 validation eras ({first - 4:04d} to {first - 1:04d}) are train eras too "
        "(cv.include_validation): the rows of both files with one era label are "
        "cross-validated as one era; give validation eras labels after train's last era"
    )
    assert json.loads((wd / "reports" / "cv.json").read_text())["notes"][0] == note
    assert f"Note: {note}" in " ".join(out.split())


def test_no_note_when_validation_follows_train(cli: CliRunner, tmp_path: Path,
                                              synthetic_dir: Path) -> None:  # fmt: skip
    wd = make_workdir(tmp_path / "wd", synthetic_dir, FAST_CONFIG + CV)
    code, out = cli("cv", "-C", str(wd))
    assert code == 0, out
    notes = json.loads((wd / "reports" / "cv.json").read_text())["notes"]
    assert not [n for n in notes if "train eras too" in n]
