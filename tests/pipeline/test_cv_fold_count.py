"""Too many cv folds for the eras: the error says how many fit, not only to lower
cv.folds (a user tried one count after another)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from numerpilot.errors import DataError
from numerpilot.modeling.cv import era_folds

ERAS = np.array([f"{e:04d}" for e in range(1, 61)])


@pytest.mark.parametrize(
    ("folds", "test_eras", "most"),
    [(40, 0, 30), (4, 20, 2), (12, 5, 10)],  # 60 eras, a gap of 8: 10 x 5 leave 0001-0002
)
def test_too_many_folds_says_how_many_fit(folds: int, test_eras: int, most: int) -> None:
    with pytest.raises(DataError) as caught:
        era_folds(ERAS, n_folds=folds, purge=8, test_eras=test_eras, era_step=1)
    assert str(caught.value).endswith(
        f"or cv.test_eras. These eras make {most} folds of that size at most."
    )
    era_folds(ERAS, n_folds=most, purge=8, test_eras=test_eras)  # and that many do


def test_no_count_is_offered_when_one_fold_does_not_fit() -> None:
    with pytest.raises(DataError) as caught:
        era_folds(ERAS, n_folds=4, purge=50, era_step=1)
    assert "at most" not in str(caught.value) and "a smaller cv.purge_eras" in str(caught.value)


def test_the_count_comes_after_the_gap_advice() -> None:
    eras = ERAS[:40]  # 30 of 40 eras before the tests: 2 folds of 5 all purged, 1 not
    with pytest.raises(DataError) as caught:
        era_folds(eras, n_folds=2, purge=30, test_eras=5, era_step=1)
    assert str(caught.value).endswith(
        "share outcomes with test eras). These eras make 1 fold of that size at most."
    )


@pytest.mark.parametrize("demo", [False, True])
def test_too_few_eras_for_the_folds_names_the_settings_the_user_sets(
    demo: bool, tmp_path: Path
) -> None:
    """Under --demo the folds' refusal named train.cv_folds and data.era_step, which --demo
    replaces by [demo] cv_folds and era_step: the user changed them and nothing moved."""
    from types import SimpleNamespace

    from numerpilot.config import Config
    from numerpilot.modeling.cv import TooFewErasError
    from numerpilot.pipeline.context import Context
    from numerpilot.pipeline.plan import held_out_splits
    from numerpilot.workdir import Workdir

    config = Config.model_validate(
        {"data": {"era_step": 4}, "train": {"cv_folds": 3, "embargo_eras": 8}}
    )
    eras = np.array([f"{era:04d}" for era in range(1, 32, 4) for _ in range(3)])  # 8 eras
    ctx = Context(Workdir(tmp_path), config, is_demo=demo)
    with pytest.raises(TooFewErasError) as refused:
        held_out_splits(ctx, SimpleNamespace(eras=eras))  # type: ignore[arg-type]
    said = str(refused.value)
    section = "demo" if demo else "train"
    assert f"lower {section}.cv_folds or {section}.embargo_eras" in said, said
    assert f"one holdout of {section}.holdout_eras" in said
    assert "an embargo of 2 eras from 8 training eras" in said
    assert "an embargo of 8 eras spans 2 of those" in said
    assert said.endswith(f"lower {'demo' if demo else 'data'}.era_step.")
