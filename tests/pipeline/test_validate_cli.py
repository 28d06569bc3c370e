"""validate from the command line: an era whose targets are missing is skipped and named."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from tests.pipeline.conftest import CliRunner

from numerpilot.data import layout


def test_empty_era_in_validation_is_skipped_and_counted(cli: CliRunner, workdir: Path) -> None:
    assert cli("train", "-C", str(workdir))[0] == 0
    val_path = workdir / "data" / "v5.2" / layout.VALIDATION
    val = pd.read_parquet(val_path)
    last = val.era.max()
    val.loc[val.era == last, "target"] = float("nan")
    val.to_parquet(val_path)
    code, out = cli("validate", "-C", str(workdir))
    assert code == 0
    report = json.loads((workdir / "reports" / "validation.json").read_text())
    assert last not in report["ensemble"]["per_era"]["corr"]
    assert "1 era skipped (targets or predictions missing)" in out and last in out


def test_report_names_each_members_model() -> None:
    import numpy as np

    from numerpilot.kernel.ensemble import build_models
    from numerpilot.kernel.linear import linear_text
    from numerpilot.modeling.manifest import Manifest
    from numerpilot.modeling.store import Bundle
    from numerpilot.pipeline.validate import _what

    plain, paired = (
        linear_text(np.ones(3), 0.0),
        linear_text(np.ones(3), 0.0, np.array([[0, 1], [2, 2]]), np.full((2, 2), 2.0), np.ones(2)),
    )
    names = ["target.linear", "target_x.linear"]
    manifest = Manifest(
        "v5", "all", ["a", "b", "c"], names, [0.5, 0.5], {}, dict.fromkeys(names, 0),
        dict.fromkeys(names), kinds=dict.fromkeys(names, "linear"),
    )  # fmt: skip
    payload = manifest.payload(dict(zip(names, [plain, paired], strict=True)))
    bundle = Bundle(manifest, payload, build_models(payload))
    assert _what(bundle, "target.linear") == "linear"
    assert _what(bundle, "target_x.linear") == "linear, 2 feature products"


def test_a_longer_horizon_target_names_the_eras_it_reaches(cli: CliRunner, workdir: Path) -> None:
    """A 60-day target's outcomes reach 16 eras past train's end, beyond the 2 eras of
    train.embargo_eras: the validation eras there were scored without a word."""
    config = (workdir / "numerpilot.toml").read_text()
    config = config.replace('["target", "target_teager2b_20"]', '["target", "target_ender_60"]')
    config = config.replace(
        "early_stopping_rounds = 10", "early_stopping_rounds = 10\nweights = [1, 1]"
    )
    (workdir / "numerpilot.toml").write_text(config)
    assert cli("train", "-C", str(workdir))[0] == 0
    code, out = cli("validate", "-C", str(workdir))
    assert code == 0, out
    notes = json.loads((workdir / "reports" / "validation.json").read_text()).get("notes", [])
    said = [n for n in [*notes, *out.splitlines()] if "reach of target_ender_60" in n]
    assert said, out
    assert "within 16 eras of train's last era 0040" in said[0]
    assert "train.embargo_eras = 16 leaves them out" in said[0]


def test_twenty_day_targets_need_no_horizon_note(cli: CliRunner, workdir: Path) -> None:
    assert cli("train", "-C", str(workdir))[0] == 0
    code, out = cli("validate", "-C", str(workdir))
    assert code == 0 and "reach of" not in out


def test_report_states_the_neutralization_and_its_features() -> None:
    from numerpilot.pipeline.validate import _neutralization

    assert _neutralization(0.5, 6) == "0.5 against 6 features"
    assert _neutralization(0.0, 0) == "none"
