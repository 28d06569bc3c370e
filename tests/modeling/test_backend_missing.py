"""A backend this install lacks is refused before any training data is read."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import Numerpilot
from tests.pipeline.conftest import FAST_CONFIG, make_workdir
from tests.support.catalogue import Refused


@pytest.fixture(params=["cpu", "gpu"])
def without_xgboost(
    tmp_path: Path, synthetic_dir: Path, monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Path:  # fmt: skip
    """A work dir asking for XGBoost members (on the CPU or the GPU) where ``import
    xgboost`` fails (as where it is not installed), and whose data must not be loaded."""
    import numerpilot.pipeline.cv as cv
    import numerpilot.pipeline.train as train

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the data was loaded before the missing XGBoost was told")

    monkeypatch.setitem(sys.modules, "xgboost", None)  # None: import raises ImportError
    monkeypatch.setattr(train, "load_era_data", refuse)
    monkeypatch.setattr(cv, "load_cv_data", refuse)
    return make_workdir(
        tmp_path / "wd",
        synthetic_dir,
        FAST_CONFIG + f'\n[model]\nbackend = "xgboost"\ndevice = "{request.param}"\n',
    )


@pytest.mark.bad_input("train", '`backend = "xgboost"` without XGBoost (also in cv, on a gpu)')
@pytest.mark.parametrize("command", ["train", "cv"])
def test_a_missing_xgboost_is_told_before_the_data_is_read(
    numerpilot: Numerpilot, refused: Refused, without_xgboost: Path, command: str
) -> None:
    """It was told by the first fit, after the training data had been loaded (minutes on
    Numerai's data); with ``device = "gpu"`` the device check's own ``import xgboost``
    failed first: 'numerpilot failed unexpectedly (ImportError): this is a bug'."""
    outcome = numerpilot(command, "-C", str(without_xgboost))
    refused(outcome, 1, 'model.backend = "xgboost" needs XGBoost',
            "pip install -e '.[xgboost]'", 'backend = "lightgbm"')  # fmt: skip
    assert "Loading" not in outcome.out + outcome.err
    assert not (without_xgboost / "models").exists()
