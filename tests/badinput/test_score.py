"""Bad input to ``numerpilot score``: one clear line, the right exit code, never a traceback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.conftest import Numerpilot
from tests.support.catalogue import Refused


@pytest.fixture
def score_args(synthetic_dir: Path, tmp_path: Path) -> list[str]:
    val = pd.read_parquet(synthetic_dir / "validation.parquet", columns=["era"])
    preds = tmp_path / "p.csv"
    values = np.random.default_rng(0).random(len(val))
    pd.DataFrame({"id": val.index, "prediction": values}).to_csv(preds, index=False)
    return [str(preds), "--data", str(synthetic_dir / "validation.parquet"), "-C", str(tmp_path)]


@pytest.mark.bad_input("score", "`--proportion nan`")
def test_proportion_nan_is_echoed(
    numerpilot: Numerpilot, refused: Refused, score_args: list[str]
) -> None:
    refused(numerpilot("score", *score_args, "--features", "all", "--proportion", "nan"), 2,
            "--proportion nan:", "between 0 and 1")  # fmt: skip


@pytest.mark.bad_input("score", "`--proportion` without `--features`")
def test_proportion_without_features(
    numerpilot: Numerpilot, refused: Refused, score_args: list[str]
) -> None:
    refused(numerpilot("score", *score_args, "--proportion", "0.5"), 2,
            "--proportion 0.5 needs --features SET")  # fmt: skip


def _data_file_as(option: str, what: str, advice: str) -> object:
    case = f"`{option} validation.parquet` (the data file, not a model's)"
    return pytest.param(option, what, advice, marks=pytest.mark.bad_input("score", case))


@pytest.mark.parametrize(
    ("option", "what", "advice"),
    [
        _data_file_as("--benchmark", "the benchmark", "validation_benchmark_models.parquet"),
        _data_file_as("--meta-model", "the meta model", "meta_model.parquet"),
    ],
)
def test_data_file_as_model_file(
    numerpilot: Numerpilot,
    refused: Refused,
    score_args: list[str],
    synthetic_dir: Path,
    option: str,
    what: str,
    advice: str,
) -> None:
    """It used to offer the features as the model columns to choose from."""
    line = refused(
        numerpilot("score", *score_args, option, str(synthetic_dir / "validation.parquet")),
        1, f"it is a data file, not {what}", advice, f"{option}-col COL",
    )  # fmt: skip
    assert "model columns: feature_" not in line


@pytest.mark.bad_input("score", "the data file given as PRED (`score validation.parquet ...`)")
def test_data_file_as_predictions(
    numerpilot: Numerpilot, refused: Refused, score_args: list[str], synthetic_dir: Path
) -> None:
    """It used to score every feature and target as a prediction column."""
    score_args[0] = str(synthetic_dir / "validation.parquet")
    refused(numerpilot("score", *score_args), 1, "validation.parquet holds features and targets",
            "it is a data file, not predictions")  # fmt: skip


@pytest.mark.bad_input(
    "score", "predictions missing for most rows of every era, with `--meta-model`"
)
def test_no_scorable_era_with_a_meta_model(
    numerpilot: Numerpilot, refused: Refused, score_args: list[str], synthetic_dir: Path
) -> None:
    """Scoring CORR with MMC crashed (exit 70) where CORR alone gave this error."""
    path = Path(score_args[0])
    frame = pd.read_csv(path)
    frame.loc[frame.index % 2 == 0, "prediction"] = np.nan
    frame.to_csv(path, index=False)
    meta = str(synthetic_dir / "meta_model.parquet")
    refused(numerpilot("score", *score_args, "--meta-model", meta), 1,
            "no era could be scored")  # fmt: skip


@pytest.mark.bad_input("score", "predictions holding ±inf (an overflow)")
def test_infinite_predictions(
    numerpilot: Numerpilot, refused: Refused, score_args: list[str]
) -> None:
    """±inf ranked as the extremes in CORR, but gave no feature exposure in its eras, which
    the summary then left out silently."""
    path = Path(score_args[0])
    frame = pd.read_csv(path)
    frame.loc[:9, "prediction"] = np.inf
    frame.loc[10:11, "prediction"] = -np.inf
    frame.to_csv(path, index=False)
    refused(numerpilot("score", *score_args, "--features", "all"), 1,
            "prediction column 'prediction' holds ±inf in 12 row(s)", "finite")  # fmt: skip


@pytest.mark.bad_input("score", "predictions whose id column has another name (`row_id`)")
def test_id_column_named_otherwise(
    numerpilot: Numerpilot, refused: Refused, score_args: list[str]
) -> None:
    path = Path(score_args[0])
    pd.read_csv(path).rename(columns={"id": "row_id"}).to_csv(path, index=False)
    refused(numerpilot("score", *score_args), 1, "has no 'id' column or index (columns: "
            "'row_id', 'prediction')", "in a column named 'id': rename the column")  # fmt: skip


@pytest.mark.bad_input("score", "a predictions CSV column of numbers with a text cell")
def test_numbers_with_a_text_cell(
    numerpilot: Numerpilot, refused: Refused, score_args: list[str]
) -> None:
    """The CSV reads such a column as text: it was left out of the scores without a word,
    and the other columns scored as if it had never been there."""
    path = Path(score_args[0])
    frame = pd.read_csv(path)
    frame["second"] = frame["prediction"].astype(object)
    frame.loc[7, "second"] = "oops"
    frame.to_csv(path, index=False)
    refused(numerpilot("score", *score_args), 1, "column 'second' of p.csv holds numbers but "
            f"also text ('oops' for id {frame.loc[7, 'id']}, 1 cell(s) in all)")  # fmt: skip


@pytest.mark.bad_input("score", "a predictions parquet whose prediction column is text")
def test_parquet_numbers_stored_as_text(
    numerpilot: Numerpilot, refused: Refused, score_args: list[str], tmp_path: Path
) -> None:
    """A string column of fractions ("0.52") was left out without a word: the other
    columns scored, or "no numeric prediction column" when it was the only one."""
    frame = pd.read_csv(score_args[0], dtype={"id": str}).set_index("id")
    frame["second"] = frame["prediction"].astype(str)
    path = tmp_path / "p.parquet"
    frame.to_parquet(path)
    refused(numerpilot("score", str(path), *score_args[1:]), 1, "column 'second' of p.parquet "
            "holds numbers stored as text", "df['second'].astype(float)")  # fmt: skip


@pytest.mark.bad_input("score", "a predictions CSV that names a column twice")
def test_csv_column_named_twice(
    numerpilot: Numerpilot, refused: Refused, score_args: list[str]
) -> None:
    """pandas reads the second 'prediction' as 'prediction.1', which was scored as a
    model of its own."""
    path = Path(score_args[0])
    frame = pd.read_csv(path)
    frame["again"] = frame["prediction"]
    frame.to_csv(path, index=False, header=["id", "prediction", "prediction"])
    refused(numerpilot("score", *score_args), 1, "p.csv names the column(s) prediction more "
            "than once in its header")  # fmt: skip


@pytest.mark.bad_input("score", "a `--data` CSV that names its target twice")
def test_data_csv_target_named_twice(
    numerpilot: Numerpilot, refused: Refused, score_args: list[str], tmp_path: Path
) -> None:
    """pandas kept the first 'target' and renamed the second 'target.1', unsaid."""
    at = score_args.index("--data") + 1
    data = pd.read_parquet(score_args[at], columns=["era", "target"])
    data["t2"] = data["target"]
    data.to_csv(tmp_path / "v.csv", header=["era", "target", "target"])
    score_args[at] = str(tmp_path / "v.csv")
    refused(numerpilot("score", *score_args), 1, "v.csv names the column(s) target more than "
            "once")  # fmt: skip


@pytest.mark.bad_input("score", "a predictions CSV with an empty column (a spreadsheet export)")
def test_an_empty_column(numerpilot: Numerpilot, refused: Refused, score_args: list[str]) -> None:
    """It was called "all NaN for the scored rows; check that its ids match the data file",
    which sent the user after ids that were right."""
    path = Path(score_args[0])
    pd.read_csv(path).assign(notes=np.nan).to_csv(path, index=False)
    line = refused(numerpilot("score", *score_args), 1, "column(s) 'notes' of p.csv hold no "
                   "value in any row", "remove them from the file")  # fmt: skip
    assert "ids" not in line


@pytest.mark.bad_input("score", "live predictions scored against `validation.parquet`")
def test_live_predictions(
    numerpilot: Numerpilot, refused: Refused, score_args: list[str], synthetic_dir: Path
) -> None:
    """It said only "check that both come from the same dataset version": they did."""
    live = pd.read_parquet(synthetic_dir / "live.parquet", columns=["era"])
    path = Path(score_args[0])
    first = str(live.index[0])
    pd.DataFrame({"id": live.index, "prediction": np.linspace(0, 1, len(live))}).to_csv(
        path, index=False
    )
    refused(numerpilot("score", *score_args), 1, f"(the predictions: '{first}', ...; the data "
            "file: '", "live predictions cannot be scored")  # fmt: skip


@pytest.mark.bad_input("score", "`--benchmark validation.parquet --benchmark-col COL` it lacks")
def test_data_file_as_benchmark_with_a_column_it_lacks(
    numerpilot: Numerpilot, refused: Refused, score_args: list[str], synthetic_dir: Path
) -> None:
    """It listed the data file's era, data_type and feature columns to choose from."""
    data = str(synthetic_dir / "validation.parquet")
    args = [*score_args, "--benchmark", data, "--benchmark-col", "v52_lgbm_ender20"]
    line = refused(numerpilot("score", *args), 1, "validation.parquet has no column "
                   "'v52_lgbm_ender20'; validation.parquet holds features and targets",
                   "it is a data file, not the benchmark",
                   "validation_benchmark_models.parquet")  # fmt: skip
    assert "columns: era" not in line
