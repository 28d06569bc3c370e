"""Each round names the target it is scored on; ``status`` says when it is not the one the
models' ensemble weights were fitted against (the data version's main ``target``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from numerpilot.api.client import NumeraiClient
from numerpilot.automation.status import collect
from numerpilot.config import ScoringConfig
from numerpilot.data.catalog import main_target_alias
from numerpilot.sandbox import SandboxServer
from numerpilot.submission.ledger import Ledger
from numerpilot.workdir import Workdir


def _round_with_target(sandbox: SandboxServer, client: NumeraiClient, same: bool, main: str) -> int:
    """Move the sandbox clock a day at a time to a round scored on ``main`` (``same``) or not."""
    for _ in range(10):
        number = client.current_round().number
        if (sandbox.state.config(number).target == main) == same:
            return number
        sandbox.clock.advance(timedelta(days=1))
    raise AssertionError("no such round in ten days")


def test_status_notes_a_round_scored_on_another_target_than_the_main_one(
    sandbox: SandboxServer, client: NumeraiClient, synthetic_dir: Path, tmp_path: Path
) -> None:
    main = main_target_alias(synthetic_dir)
    assert main == "target_cyrusd_20"  # the synthetic data's `target` is cyrusd
    ledger = Ledger(tmp_path / "state.db")
    number = _round_with_target(sandbox, client, same=False, main=main)
    report = collect(client, ledger, "classic", ["sandbox_model"], ScoringConfig(), 3, main)
    target = sandbox.state.config(number).target
    assert report.current.target == target
    said = [n for n in report.notes if "is scored on" in n]
    assert said == [
        f"round {number} is scored on {target}, but the ensemble weights of the models in use "
        f"were fitted against the data's main target ('target', which is {main} in that data "
        f"version): validate's CORR is against that one, not the round's; set "
        f'train.main_target = "{target}" and retrain to weight them for the round\'s target'
    ]
    _round_with_target(sandbox, client, same=True, main=main)
    report = collect(client, ledger, "classic", ["sandbox_model"], ScoringConfig(), 3, main)
    assert not [n for n in report.notes if "is scored on" in n]


def test_no_named_target_equal_to_the_main_one_is_no_alias(tmp_path: Path) -> None:
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame({"era": ["0001"] * 20, "target": np.linspace(0, 1, 20),
                          "target_ender_20": np.linspace(1, 0, 20)})  # fmt: skip
    frame.to_parquet(tmp_path / "validation.parquet")
    assert main_target_alias(tmp_path) is None
    assert main_target_alias(tmp_path / "missing") is None


def test_the_status_command_says_it_for_the_models_in_use(
    daemon_dir: Workdir, sandbox: SandboxServer, client: NumeraiClient,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """The note needs the models' data version: the command reads it from their manifest."""
    from tests.automation.test_status import _status_without_keys

    _round_with_target(sandbox, client, same=False, main="target_cyrusd_20")
    out = " ".join(_status_without_keys(daemon_dir.root, sandbox, monkeypatch, capsys).split())
    assert (
        "the ensemble weights of the models in use were fitted against the data's main "
        "target ('target', which is target_cyrusd_20 in that data version)"
    ) in out


def test_models_weighted_against_the_rounds_target_get_no_note(
    tmp_path: Path, sandbox: SandboxServer, client: NumeraiClient,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """train.main_target = the round's target: the weights are fitted against it (the
    manifest says so) and status has nothing to say; a round on another target is named."""
    from tests.automation.conftest import DAEMON_CONFIG
    from tests.automation.test_status import _status_without_keys

    from numerpilot.config_file import load_config
    from numerpilot.data.download import download_dataset
    from numerpilot.modeling.manifest import load_manifest
    from numerpilot.pipeline.context import Context
    from numerpilot.pipeline.train import train_ensemble

    (tmp_path / "numerpilot.toml").write_text(
        DAEMON_CONFIG.replace("[train]\n", '[train]\nmain_target = "target_ender_20"\n')
    )
    work = Workdir(tmp_path)
    config = load_config(work.config_path)
    download_dataset(work, config, client)
    train_ensemble(Context(work, config))
    assert load_manifest(work.models).main_target == "target_ender_20"
    _round_with_target(sandbox, client, same=True, main="target_ender_20")
    out = " ".join(_status_without_keys(work.root, sandbox, monkeypatch, capsys).split())
    assert "is scored on" not in out
    number = _round_with_target(sandbox, client, same=False, main="target_ender_20")
    out = " ".join(_status_without_keys(work.root, sandbox, monkeypatch, capsys).split())
    assert (
        f"round {number} is scored on target_cyrusd_20, but the ensemble weights of the "
        "models in use were fitted against train.main_target (target_ender_20)"
    ) in out


def test_the_daemon_says_it_once_per_round(
    daemon_dir: Workdir, sandbox: SandboxServer, client: NumeraiClient,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """A daemon left alone is not watched with status: its log says it, once a round."""
    from numerpilot.automation.daemon import Daemon
    from numerpilot.config_file import load_config

    number = _round_with_target(sandbox, client, same=False, main="target_cyrusd_20")
    daemon = Daemon(daemon_dir, load_config(daemon_dir.config_path), client, seed=0)
    with caplog.at_level("WARNING", logger="numerpilot.automation.daemon"):
        daemon.pass_once()
        daemon.pass_once()
    said = [r.getMessage() for r in caplog.records if "is scored on" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith(f"round {number} is scored on ")
    assert "('target', which is target_cyrusd_20 in that data version)" in said[0]
