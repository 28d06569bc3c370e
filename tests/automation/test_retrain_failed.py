"""A daemon retrain that fails (a config mistake, a fault) leaves the models in use, and is
tried again once the config changes or another round has opened, not at every poll; and a
retrain policy that can never retrain says so."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from tests.automation.conftest import DAEMON_CONFIG
from tests.automation.test_retrain import _bundles, _look, stale  # noqa: F401  (the fixture)

from numerpilot.api.client import NumeraiClient
from numerpilot.automation.daemon import Daemon, PassReport
from numerpilot.config_file import load_config
from numerpilot.modeling.manifest import load_manifest
from numerpilot.sandbox import SandboxServer
from numerpilot.workdir import Workdir


def _poll(daemon: Daemon) -> list[str]:
    """One look between rounds, an hour before the next one is due: the failures."""
    current = daemon.client.current_round()
    assert not current.is_open
    report = PassReport(current.number, daemon.clock.now() + timedelta(hours=1))
    daemon._maybe_retrain(current, report)
    return report.failures


def test_a_failed_retrain_keeps_the_models_and_is_tried_again_after_a_fix(
    stale: Daemon,  # noqa: F811
    daemon_dir: Workdir,
    sandbox: SandboxServer,
) -> None:
    before, folders = load_manifest(daemon_dir.models), _bundles(daemon_dir)
    good = daemon_dir.config_path.read_text()
    bad = good.replace('targets = ["target", ', 'targets = ["target_nope_20", ')
    assert bad != good
    daemon_dir.config_path.write_text(bad)
    failures = _poll(stale)
    assert len(failures) == 1 and "target_nope_20" in failures[0]
    assert failures[0].endswith(
        "The models in use stay; it is tried again when numerpilot.toml changes, or after "
        "the next round."
    )
    assert load_manifest(daemon_dir.models).bundle == before.bundle
    assert _bundles(daemon_dir) == folders
    assert _poll(stale) == []  # the next poll, nothing changed: not tried again
    number = stale.client.current_round().number
    sandbox.clock.advance(timedelta(days=1))  # the next round opened and closed
    _look(stale)
    assert stale.client.current_round().number > number
    assert len(_poll(stale)) == 1  # another round since: tried again, fails again
    daemon_dir.config_path.write_text(good)  # the mistake fixed: tried again, and it works
    assert _poll(stale) == []
    assert load_manifest(daemon_dir.models).bundle != before.bundle


def test_new_data_version_with_a_pinned_version_warns_that_it_never_retrains(
    tmp_path: Path, client: NumeraiClient, caplog: pytest.LogCaptureFixture
) -> None:
    """It never retrained, and said nothing: the pinned version is never another."""
    config = DAEMON_CONFIG.replace("[data]\n", '[data]\nversion = "v5.2"\n')
    (tmp_path / "numerpilot.toml").write_text(config + 'retrain = "new-data-version"\n')
    work = Workdir(tmp_path)
    with caplog.at_level("WARNING"):
        Daemon(work, load_config(work.config_path), client, seed=0)
    said = [r.getMessage() for r in caplog.records]
    assert said == [
        'retrain = "new-data-version" never retrains while data.version is pinned to v5.2: '
        'set data.version = "newest" to follow Numerai\'s new versions, or retrain = "weekly"'
    ]
    caplog.clear()
    (tmp_path / "numerpilot.toml").write_text(config + 'retrain = "weekly"\n')
    with caplog.at_level("WARNING"):
        Daemon(work, load_config(work.config_path), client, seed=0)
    assert caplog.records == []


def test_a_retrain_out_of_memory_keeps_the_models_and_says_how_to_ask_for_less(
    stale: Daemon,  # noqa: F811
    daemon_dir: Workdir,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A MemoryError in a retrain ended the daemon as a bug (exit 70)."""
    from numerpilot.pipeline import retrain

    def out_of_memory(*args: object, **kwargs: object) -> None:
        raise MemoryError  # what numpy raises when an allocation fails

    before = load_manifest(daemon_dir.models).bundle
    monkeypatch.setattr(retrain, "train_ensemble", out_of_memory)
    (failure,) = _poll(stale)
    assert failure.startswith("retraining failed: This machine ran out of memory.")
    assert "[train] memory_gb" in failure and "The models in use stay" in failure
    assert load_manifest(daemon_dir.models).bundle == before
