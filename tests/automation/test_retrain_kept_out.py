"""A daemon retrain whose new models are kept out (worse on validation) starts the weekly
clock again: the next retrain is due a week later, in this daemon and after a restart.
Before, the same daemon never retrained again (the reason, unchanged, counted as tried),
and a restarted one retrained at once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from tests.automation.test_retrain import _look, _polls, _weekly_with_models_from

from numerpilot.api.client import NumeraiClient
from numerpilot.automation.daemon import Daemon, PassReport
from numerpilot.automation.retraining import retrain_reason
from numerpilot.config_file import load_config
from numerpilot.modeling.manifest import load_manifest
from numerpilot.modeling.retrain_record import RETRAIN_RECORD
from numerpilot.sandbox import SandboxServer
from numerpilot.workdir import Workdir


@pytest.fixture
def strict(daemon_dir: Workdir, client: NumeraiClient, sandbox: SandboxServer) -> Daemon:
    """A daemon between rounds, models due for their weekly retrain, no tolerance."""
    _weekly_with_models_from(daemon_dir, timedelta(days=5 * 365))
    with daemon_dir.config_path.open("a") as fh:
        fh.write("retrain_tolerance = 0.0\n")
    runner = Daemon(daemon_dir, load_config(daemon_dir.config_path), client, seed=0)
    _polls(runner)  # a round is open: no retrain; the server clock's rate is measured
    sandbox.clock.advance(timedelta(hours=8))  # the round closed, none open
    _look(runner)
    return runner


def _gap(daemon: Daemon, caplog: pytest.LogCaptureFixture) -> list[str]:
    """One look between rounds, ten minutes before the next one is due: what it logged."""
    current = daemon.client.current_round()
    assert not current.is_open
    report = PassReport(current.number, daemon.clock.now() + timedelta(minutes=10))
    caplog.clear()
    with caplog.at_level("INFO"):
        daemon._maybe_retrain(current, report)
    assert report.failures == []
    return [r.getMessage() for r in caplog.records]


def _weak(config: str) -> str:
    """One stump on a tenth of the features, no linear member: clearly worse models."""
    weak = config.replace("n_estimators = 40", "n_estimators = 1\nmax_depth = 1")
    weak = weak.replace("colsample_bytree = 0.5", "colsample_bytree = 0.1")
    assert weak != config
    return weak + "[model]\nlinear = false\nseeds = [0]\n"


def test_a_kept_out_retrain_starts_the_week_again(
    strict: Daemon, daemon_dir: Workdir, client: NumeraiClient, caplog: pytest.LogCaptureFixture
) -> None:
    before = load_manifest(daemon_dir.models)
    good = daemon_dir.config_path.read_text()
    daemon_dir.config_path.write_text(_weak(good))
    said = _gap(strict, caplog)
    assert any(m.startswith("retrained models kept out") for m in said), said
    assert load_manifest(daemon_dir.models).bundle == before.bundle
    daemon_dir.config_path.write_text(good)
    config = load_config(daemon_dir.config_path)
    # checked against new models just now: not due at once (a restarted daemon retrained)
    assert retrain_reason(daemon_dir, config, client, rate=strict.clock.rate) is None
    assert _gap(strict, caplog) == []
    record = json.loads((daemon_dir.models / RETRAIN_RECORD).read_text())
    assert record["finished"] is True and record["kept_out"]["bundle"] == before.bundle
    week_ago = datetime.now(UTC) - timedelta(days=8)  # a week later, this daemon retrains
    record["kept_out"]["at"] = week_ago.isoformat(timespec="seconds")
    (daemon_dir.models / RETRAIN_RECORD).write_text(json.dumps(record))
    said = _gap(strict, caplog)
    assert said[0].startswith("retraining (weekly: the last retrain, at "), said
    assert load_manifest(daemon_dir.models).bundle != before.bundle


def test_new_data_version_kept_out_is_not_retrained_again_on_that_version(
    daemon_dir: Workdir, client: NumeraiClient
) -> None:
    """Models of an older version, and a retrain on the newest one kept out: the same data
    gives the same verdict, so a restarted daemon does not retrain on it again at once
    (one that never stops already did not); a still newer version is due, and so is the
    same version once the config has changed (it was never tried again)."""
    from numerpilot.modeling.retrain_record import config_sha256, record_kept_out

    with daemon_dir.config_path.open("a") as fh:
        fh.write('retrain = "new-data-version"\n')
    config = load_config(daemon_dir.config_path)
    manifest = load_manifest(daemon_dir.models)
    for path in (daemon_dir.models / "manifest.json",
                 daemon_dir.models / manifest.bundle / "manifest.json"):  # fmt: skip
        raw = json.loads(path.read_text())
        raw["data_version"] = "v4.3"  # trained on an older version
        path.write_text(json.dumps(raw))
    newest = client.newest_version()
    assert retrain_reason(daemon_dir, config, client) == f"new data version {newest} (models: v4.3)"
    sha = config_sha256(daemon_dir.config_path)
    record_kept_out(daemon_dir.models, manifest, newest, sha)
    assert retrain_reason(daemon_dir, config, client) is None
    with daemon_dir.config_path.open("a") as fh:
        fh.write("retrain_tolerance = 0.01\n")  # another config: another verdict may come
    assert retrain_reason(daemon_dir, config, client) is not None
    record_kept_out(daemon_dir.models, manifest, "v4.9", sha)  # kept out on another one
    assert retrain_reason(daemon_dir, config, client) is not None


def test_a_kept_out_retrain_is_remembered_for_models_saved_before_bundles(
    daemon_dir: Workdir,
) -> None:
    """Models of the format before bundle folders have no bundle name: the record never
    matched them, and every restarted daemon retrained at once."""
    from dataclasses import replace

    from numerpilot.modeling.retrain_record import kept_out, record_kept_out

    old = replace(load_manifest(daemon_dir.models), bundle="")
    record_kept_out(daemon_dir.models, old, "v5.2", "abc")
    kept = kept_out(daemon_dir.models, old)
    assert kept is not None and kept.created == old.created
    assert kept_out(daemon_dir.models, replace(old, created="2020-01-01T00:00:00+00:00")) is None


def test_the_tolerance_is_the_configs_as_it_is_when_the_retrain_runs(
    strict: Daemon, daemon_dir: Workdir, caplog: pytest.LogCaptureFixture
) -> None:
    """The retrain trains on numerpilot.toml as it is then, but judged the new models with
    the retrain_tolerance the daemon started with: a tolerance raised meanwhile (to let
    weaker but different models in) was ignored until a restart."""
    before = load_manifest(daemon_dir.models)
    text = _weak(daemon_dir.config_path.read_text())
    daemon_dir.config_path.write_text(
        text.replace("retrain_tolerance = 0.0", "retrain_tolerance = 1.0")
    )
    said = _gap(strict, caplog)
    assert any("within the tolerance of 1" in m for m in said), said
    assert load_manifest(daemon_dir.models).bundle != before.bundle
