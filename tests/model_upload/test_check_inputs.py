"""check-upload's live and benchmark files, checked before a replica is built or started.

A wrong file (a CSV, no rows, no 'id' index, benchmarks of another round) is named in one
line, instead of failing inside Numerai's runtime as if the pickle had.
"""

from __future__ import annotations

from pathlib import Path

import cloudpickle
import pandas as pd
import pytest
from tests.conftest import Numerpilot
from tests.support.catalogue import Outcome, Refused

from numerpilot.errors import DataError
from numerpilot.model_upload.check import check_inputs, run_in_runtime
from numerpilot.model_upload.images import image_for, python_minor

LIVE_ROWS = 100


def _frame(prefix: str = "n", rows: int = LIVE_ROWS) -> pd.DataFrame:
    """Rows shaped like Numerai's live file: indexed by 'id', an 'era', int8 features."""
    ids = pd.Index([f"{prefix}{i:015x}" for i in range(rows)], name="id")
    return pd.DataFrame({"era": "X", "feature_a": 1, "feature_b": 2}, index=ids).astype(
        {"feature_a": "int8", "feature_b": "int8"}
    )


@pytest.fixture
def live(tmp_path: Path) -> Path:
    path = tmp_path / "live.parquet"
    _frame().to_parquet(path)
    return path


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache for runtime replicas (``NUMERPILOT_CACHE``), not created yet."""
    monkeypatch.setenv("NUMERPILOT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def pickle_path(tmp_path: Path) -> Path:
    """A 2-argument pickle (never run: its inputs are refused first)."""
    path = tmp_path / "m.pkl"
    path.write_bytes(cloudpickle.dumps(lambda live, benchmarks: live[[]]))
    return path


def _check(numerpilot: Numerpilot, pickle: Path, *args: str) -> Outcome:
    return numerpilot("check-upload", str(pickle), *args, "-C", str(pickle.parent))


@pytest.mark.bad_input("check-upload", "`--live` a CSV file, not parquet")
def test_live_csv(
    numerpilot: Numerpilot, refused: Refused, pickle_path: Path, tmp_path: Path, cache: Path
) -> None:
    csv = tmp_path / "live.csv"
    _frame().to_csv(csv)
    outcome = _check(numerpilot, pickle_path, "--live", str(csv))
    line = refused(outcome, 1, f"the live file {csv} is not a readable parquet file (it is "
                   "CSV)", "live.parquet")  # fmt: skip
    assert "crashed" not in line and "Python" not in line
    assert not cache.exists()  # refused before a replica was built or started


@pytest.mark.bad_input("check-upload", "`--live` a parquet file with no rows")
def test_live_without_rows(
    numerpilot: Numerpilot, refused: Refused, pickle_path: Path, tmp_path: Path, cache: Path
) -> None:
    empty = tmp_path / "empty.parquet"
    _frame(rows=0).to_parquet(empty)
    refused(_check(numerpilot, pickle_path, "--live", str(empty)), 1,
            f"the live file {empty} has no rows")  # fmt: skip
    assert not cache.exists()


def test_live_ids_named_in_another_case(pickle_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "upper.parquet"
    frame = _frame()
    frame.index.name = "ID"
    frame.to_parquet(path)
    with pytest.raises(DataError, match="an index named 'ID': rename it to 'id'"):
        check_inputs(path)


@pytest.mark.bad_input("check-upload", "`--live` with ids that repeat")
def test_live_with_repeated_ids(
    numerpilot: Numerpilot, refused: Refused, pickle_path: Path, tmp_path: Path, cache: Path
) -> None:
    """The replica ran and the rules then blamed the pickle's predictions."""
    twice = tmp_path / "twice.parquet"
    frame = _frame()
    pd.concat([frame, frame.iloc[:2]]).to_parquet(twice)
    refused(_check(numerpilot, pickle_path, "--live", str(twice)), 1,
            f"the live file {twice} has ids that repeat (e.g. {frame.index[0]})")  # fmt: skip
    assert not cache.exists()


@pytest.mark.bad_input("check-upload", "`--live` with the ids as a column, not the index")
def test_live_ids_not_the_index(
    numerpilot: Numerpilot, refused: Refused, pickle_path: Path, tmp_path: Path, cache: Path
) -> None:
    flat = tmp_path / "flat.parquet"
    _frame().reset_index().to_parquet(flat)
    refused(_check(numerpilot, pickle_path, "--live", str(flat)), 1,
            "has no 'id' index (only a column of that name)", "set_index('id')")  # fmt: skip
    assert not cache.exists()


@pytest.mark.bad_input("check-upload", "`--live` without an era column")
def test_live_without_era(
    numerpilot: Numerpilot, refused: Refused, pickle_path: Path, tmp_path: Path, cache: Path
) -> None:
    path = tmp_path / "no_era.parquet"
    _frame().drop(columns="era").to_parquet(path)
    refused(_check(numerpilot, pickle_path, "--live", str(path)), 1, "has no 'era' column")
    assert not cache.exists()


@pytest.mark.bad_input("check-upload", "`--live` with rows whose era is missing")
def test_live_with_rows_without_an_era(
    numerpilot: Numerpilot, refused: Refused, pickle_path: Path, tmp_path: Path, cache: Path
) -> None:
    """Blamed on the pickle: 'Numerai's runtime would fail: ... Not enough stocks' (some
    rows) or 'No objects to concatenate' (every row)."""
    path = tmp_path / "era_missing.parquet"
    frame = _frame()
    frame.loc[frame.index[:5], "era"] = None
    frame.to_parquet(path)
    refused(_check(numerpilot, pickle_path, "--live", str(path)), 1,
            f"the live file {path} has 5 of its 100 rows without an era")  # fmt: skip
    assert not cache.exists()


@pytest.mark.bad_input("check-upload", "`--benchmarks` with 10 of the 100 live ids")
def test_benchmarks_of_part_of_the_ids(
    numerpilot: Numerpilot,
    refused: Refused,
    pickle_path: Path,
    live: Path,
    tmp_path: Path,
    cache: Path,
) -> None:
    bench = tmp_path / "lb10.parquet"
    _frame().iloc[:10][["era"]].assign(v52_lgbm=0.5).to_parquet(bench)
    line = refused(_check(numerpilot, pickle_path, "--live", str(live), "--benchmarks", str(bench)),
                   1, f"the benchmarks file {bench} covers 10 of the 100 ids of the live file "
                   f"{live}", "live_benchmark_models.parquet of the same round")  # fmt: skip
    assert len(line) < 400  # never the ids themselves
    assert not cache.exists()


@pytest.mark.bad_input("check-upload", "`--benchmarks` of another dataset (no live id)")
def test_benchmarks_of_other_ids(
    numerpilot: Numerpilot,
    refused: Refused,
    pickle_path: Path,
    live: Path,
    tmp_path: Path,
    cache: Path,
) -> None:
    bench = tmp_path / "other.parquet"
    _frame("m")[["era"]].assign(v52_lgbm=0.5).to_parquet(bench)
    refused(_check(numerpilot, pickle_path, "--live", str(live), "--benchmarks", str(bench)), 1,
            "covers 0 of the 100 ids")  # fmt: skip
    assert not cache.exists()


def test_check_inputs_takes_numerai_files(live: Path, tmp_path: Path) -> None:
    bench = tmp_path / "live_benchmark_models.parquet"
    _frame()[["era"]].assign(v52_lgbm=0.5).iloc[::-1].to_parquet(bench)  # any order
    check_inputs(live, bench)
    check_inputs(live)


def test_run_in_runtime_refuses_before_starting(pickle_path: Path, tmp_path: Path) -> None:
    """The library refuses too, before it starts the replica's Python (here: none at all)."""
    csv = tmp_path / "live.csv"
    _frame().to_csv(csv)
    image = image_for(python_minor())
    with pytest.raises(DataError, match="is not a readable parquet file"):
        run_in_runtime(tmp_path / "no-python", pickle_path, csv, image=image)
