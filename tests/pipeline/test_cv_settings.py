"""[cv] settings that contradict each other are refused before any fit."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import Numerpilot
from tests.pipeline.conftest import FAST_CONFIG, make_workdir
from tests.support.catalogue import Refused

WINDOW = "\n[cv]\nfolds = 2\ntest_eras = 4\ntrain_eras = 10\n"


@pytest.mark.bad_input("cv", "a walk-forward window with the expanding scheme")
def test_a_window_with_the_expanding_scheme_is_refused(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, synthetic_dir: Path
) -> None:
    """cv.train_eras was ignored without a word: every fold trained on every earlier era."""
    wd = make_workdir(tmp_path / "wd", synthetic_dir, FAST_CONFIG + WINDOW)
    other = tmp_path / "other.toml"
    other.write_text(FAST_CONFIG)
    for extra in ((), ("--compare", str(other))):
        refused(
            numerpilot("cv", "-C", str(wd), *extra),
            1,
            "cv.train_eras = 10 is the walk-forward window, but cv.scheme is 'expanding'",
            'set cv.scheme = "walk-forward" to train on a window, or remove cv.train_eras.',
        )
    assert not (wd / "reports").exists() or not any((wd / "reports").iterdir())
