"""``numerpilot cv`` refuses a report path it could not write before any fit, not after the
whole cross-validation (whose work was then lost)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import Numerpilot
from tests.pipeline.conftest import FAST_CONFIG, make_workdir
from tests.support.catalogue import Refused

CV = "\n[cv]\nfolds = 2\ntest_eras = 4\n"


@pytest.mark.bad_input(
    "cv", "reports/cv.json or reports/cv.html is a folder (refused before any fit)"
)
@pytest.mark.parametrize("name", ["cv.json", "cv.html"])
def test_a_report_path_that_is_a_folder_is_refused_before_any_fit(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, synthetic_dir: Path, name: str
) -> None:
    wd = make_workdir(tmp_path / "wd", synthetic_dir, FAST_CONFIG + CV)
    (wd / "reports" / name).mkdir(parents=True)
    outcome = numerpilot("cv", "-C", str(wd))
    refused(outcome, 1, f"reports/{name} is a folder, not a file: move it away",
            "then run cv again")  # fmt: skip
    assert "Cross-validating" not in outcome.out + outcome.err  # nothing was fitted
    assert (wd / "reports" / name).is_dir() and len(list((wd / "reports").iterdir())) == 1
