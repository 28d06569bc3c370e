"""Files a user made by hand for ``score`` and ``submit``: no rows, compressed, odd ids."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.conftest import Numerpilot
from tests.pipeline.conftest import FAST_CONFIG
from tests.support.catalogue import Outcome, Refused

from numerpilot.data import layout
from numerpilot.sandbox import SandboxServer

# -- score ------------------------------------------------------------------------------


@pytest.fixture
def files(synthetic_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    """(predictions CSV, data parquet with era and target) in ``tmp_path``."""
    data = pd.read_parquet(synthetic_dir / "validation.parquet", columns=[layout.ERA, "target"])
    data.to_parquet(tmp_path / "v.parquet")
    values = np.random.default_rng(0).random(len(data))
    pd.DataFrame({"id": data.index, "prediction": values}).to_csv(tmp_path / "p.csv", index=False)
    return tmp_path / "p.csv", tmp_path / "v.parquet"


def _score(numerpilot: Numerpilot, preds: Path, data: Path) -> Outcome:
    return numerpilot("score", str(preds), "--data", str(data), "-C", str(preds.parent))


@pytest.mark.bad_input("score", "`--data`, a parquet file with no rows")
def test_score_data_without_rows(
    numerpilot: Numerpilot, refused: Refused, files: tuple[Path, Path]
) -> None:
    preds, data = files
    pd.read_parquet(data).iloc[:0].to_parquet(data)
    line = refused(_score(numerpilot, preds, data), 1, "v.parquet has no rows")
    assert "download" not in line  # a file of the user's, not one numerpilot fetches


@pytest.mark.bad_input("score", "a predictions parquet file with no rows")
def test_score_parquet_without_rows(
    numerpilot: Numerpilot, refused: Refused, files: tuple[Path, Path]
) -> None:
    preds, data = files
    empty = preds.with_suffix(".parquet")
    pd.read_csv(preds).iloc[:0].to_parquet(empty, index=False)
    refused(_score(numerpilot, empty, data), 1, "p.parquet has no rows")


@pytest.mark.bad_input("score", "a predictions CSV with only a header")
def test_score_csv_header_only(
    numerpilot: Numerpilot, refused: Refused, files: tuple[Path, Path]
) -> None:
    preds, data = files
    preds.write_text("id,prediction\n")
    refused(_score(numerpilot, preds, data), 1, "p.csv has no rows")


@pytest.mark.bad_input("score", "a gzip file named `.csv`")
def test_score_gzip_named_csv(
    numerpilot: Numerpilot, refused: Refused, files: tuple[Path, Path]
) -> None:
    preds, data = files
    preds.write_bytes(gzip.compress(preds.read_bytes()))
    refused(_score(numerpilot, preds, data), 1, "p.csv is compressed (gzip)", "decompress it")


@pytest.mark.bad_input("score", "a compressed predictions file (`.csv.gz`)")
def test_score_csv_gz(numerpilot: Numerpilot, refused: Refused, files: tuple[Path, Path]) -> None:
    preds, data = files
    packed = preds.with_suffix(".csv.gz")
    packed.write_bytes(gzip.compress(preds.read_bytes()))
    refused(_score(numerpilot, packed, data), 1, "p.csv.gz is compressed (.gz)", "decompress it")


@pytest.mark.bad_input("score", "an `ID` column instead of `id`")
def test_score_id_column_case(
    numerpilot: Numerpilot, refused: Refused, files: tuple[Path, Path]
) -> None:
    preds, data = files
    pd.read_csv(preds).rename(columns={"id": "ID"}).to_csv(preds, index=False)
    refused(_score(numerpilot, preds, data), 1, "p.csv has 'ID'", "case-sensitive",
            "rename it to 'id'")  # fmt: skip


def test_score_csv_ids_that_look_like_numbers(
    numerpilot: Numerpilot, files: tuple[Path, Path]
) -> None:
    """Ids "000123" of a CSV match the data's "000123" (not read as the number 123)."""
    preds, data = files
    frame = pd.read_parquet(data)
    frame.index = pd.Index([f"{i:06d}" for i in range(len(frame))], name="id")
    frame.to_parquet(data)
    pd.read_csv(preds).assign(id=frame.index).to_csv(preds, index=False)
    outcome = _score(numerpilot, preds, data)
    assert outcome.code == 0, outcome.err


# -- submit -----------------------------------------------------------------------------


@pytest.fixture
def workdir(fresh: Path, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``fresh`` with its data version pinned (the live ids are local) and the API URL on
    the local sandbox."""
    monkeypatch.setenv("NUMERPILOT_API_URL", sandbox.url)
    (fresh / "numerpilot.toml").write_text(
        FAST_CONFIG.replace("[data]\n", '[data]\nversion = "v5.2"\n')
    )
    return fresh


def _live(root: Path, name: str = "preds.csv") -> Path:
    """A valid Classic predictions CSV for the work dir's live ids."""
    ids = pd.read_parquet(root / "data" / "v5.2" / layout.LIVE, columns=["era"]).index
    path = root / name
    values = np.random.default_rng(0).uniform(0.05, 0.95, len(ids))
    pd.DataFrame({"id": ids, "prediction": values}).to_csv(path, index=False)
    return path


def _dry_run(numerpilot: Numerpilot, root: Path, path: Path) -> Outcome:
    return numerpilot("submit", str(path), "--dry-run", "-C", str(root))


@pytest.mark.bad_input("submit", "a CSV with only a header (`id,prediction`)")
def test_submit_header_only(numerpilot: Numerpilot, refused: Refused, workdir: Path) -> None:
    path = workdir / "preds.csv"
    path.write_text("id,prediction\n")
    refused(_dry_run(numerpilot, workdir, path), 1, "preds.csv has no rows")


@pytest.mark.bad_input("submit", "a parquet file with no rows")
def test_submit_parquet_without_rows(
    numerpilot: Numerpilot, refused: Refused, workdir: Path
) -> None:
    path = workdir / "preds.parquet"
    pd.read_csv(_live(workdir)).iloc[:0].to_parquet(path, index=False)
    refused(_dry_run(numerpilot, workdir, path), 1, "preds.parquet has no rows")


@pytest.mark.bad_input("submit", "a gzip file named `.csv`")
def test_submit_gzip_named_csv(numerpilot: Numerpilot, refused: Refused, workdir: Path) -> None:
    path = _live(workdir)
    path.write_bytes(gzip.compress(path.read_bytes()))
    refused(_dry_run(numerpilot, workdir, path), 1, "preds.csv is compressed (gzip)",
            "decompress it")  # fmt: skip


@pytest.mark.bad_input("submit", "an id twice")
def test_submit_repeated_id(numerpilot: Numerpilot, refused: Refused, workdir: Path) -> None:
    path = _live(workdir)
    with path.open("a") as fh:
        fh.write(path.read_text().splitlines()[1] + "\n")
    line = refused(_dry_run(numerpilot, workdir, path), 1, "Duplicates detected in id")
    assert ".." not in line
