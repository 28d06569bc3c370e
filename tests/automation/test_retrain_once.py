"""``daemon --once`` from cron is a new process every pass: a retrain that failed is tried
again (and alerts) only once the config changes or another round has opened, as in a daemon
that keeps running; before, every pass in the gap tried it again and sent the alert again."""

from __future__ import annotations

from datetime import timedelta

from tests.automation.test_retrain import _bundles, stale  # noqa: F401  (the fixture)
from tests.automation.test_retrain_failed import _poll

from numerpilot.automation.daemon import Daemon
from numerpilot.config_file import load_config
from numerpilot.modeling.manifest import load_manifest
from numerpilot.sandbox import SandboxServer
from numerpilot.workdir import Workdir


def _cron_pass(stale: Daemon, daemon_dir: Workdir) -> list[str]:  # noqa: F811
    """Cron's next ``daemon --once`` between rounds (a new process, nothing in memory): its
    failures."""
    once = Daemon(daemon_dir, load_config(daemon_dir.config_path), stale.client, seed=0)
    report = once.pass_once()
    assert not once.client.current_round().is_open
    return report.failures


def test_a_failed_retrain_is_not_tried_again_by_the_next_daemon_once(
    stale: Daemon,  # noqa: F811
    daemon_dir: Workdir,
    sandbox: SandboxServer,
) -> None:
    before = load_manifest(daemon_dir.models)
    good = daemon_dir.config_path.read_text()
    bad = good.replace('targets = ["target", ', 'targets = ["target_nope_20", ')
    daemon_dir.config_path.write_text(bad)
    assert len(_poll(stale)) == 1  # failed, alerted
    assert _cron_pass(stale, daemon_dir) == []  # the next pass, nothing changed: not tried
    number = stale.client.current_round().number
    sandbox.clock.advance(timedelta(days=1))  # the next round opened and closed
    failures = _cron_pass(stale, daemon_dir)  # another round since: tried again, fails again
    assert stale.client.current_round().number > number
    assert len(failures) == 1 and "target_nope_20" in failures[0]
    daemon_dir.config_path.write_text(good)  # the mistake fixed: the next pass retrains
    folders = _bundles(daemon_dir)
    assert _cron_pass(stale, daemon_dir) == []
    assert load_manifest(daemon_dir.models).bundle != before.bundle
    assert _bundles(daemon_dir) != folders
