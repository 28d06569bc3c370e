"""Retraining beside the current models, keeping the better, rolling back; in the daemon."""

from __future__ import annotations

import json
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.conftest import Numerpilot

from numerpilot.api.client import NumeraiClient
from numerpilot.automation.daemon import Daemon
from numerpilot.automation.retraining import too_short
from numerpilot.config import Config
from numerpilot.config_file import load_config
from numerpilot.credentials import Credentials
from numerpilot.data.synthetic import SyntheticSpec
from numerpilot.data.synthetic_io import write_synthetic
from numerpilot.errors import DataError
from numerpilot.lock import LockedError
from numerpilot.modeling.manifest import load_manifest
from numerpilot.modeling.retrain_record import RETRAIN_RECORD, record_retrain
from numerpilot.modeling.store import kept_bundles, rollback
from numerpilot.pipeline.context import Context
from numerpilot.pipeline.retrain import retrain
from numerpilot.pipeline.train import train_ensemble
from numerpilot.sandbox import DEMO_PUBLIC_ID, DEMO_SECRET_KEY, SandboxServer
from numerpilot.workdir import Workdir

GOOD = """\
[data]
version = "v5.2"
era_step = 1
[train]
targets = ["target"]
holdout_eras = 10
embargo_eras = 2
early_stopping_rounds = 0
[lightgbm]
n_estimators = 60
learning_rate = 0.1
colsample_bytree = 0.5
num_threads = 1
"""
#: One stump on a tenth of the features (and no linear member, which alone would learn
#: the signal well): a model that learns much less of the signal.
WEAK = (
    GOOD.replace("n_estimators = 60", "n_estimators = 1\nmax_depth = 1").replace(
        "colsample_bytree = 0.5", "colsample_bytree = 0.1"
    )
    + "[model]\nlinear = false\nseeds = [0]\n"
)


@pytest.fixture(scope="module")
def signal_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dataset large enough for a real validation signal (about 50,000 rows)."""
    out = tmp_path_factory.mktemp("signal")
    write_synthetic(SyntheticSpec(60, 30, 600, 48, 60, seed=3), out)
    return out


def _trained(root: Path, data: Path, config: str) -> Workdir:
    shutil.copytree(data, root / "data" / "v5.2")
    (root / "numerpilot.toml").write_text(config)
    work = Workdir(root)
    train_ensemble(Context.load(work))
    return work


def test_a_worse_retrain_is_kept_out_and_a_good_one_replaces(
    tmp_path: Path, signal_data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    work = _trained(tmp_path, signal_data, GOOD)
    before = load_manifest(work.models)
    work.config_path.write_text(WEAK)
    orphan = train_ensemble(Context.load(work), publish=False)  # as if killed before its end
    worse = retrain(Context.load(work), tolerance=0.0)
    assert worse.old_corr is not None and worse.new_corr < worse.old_corr
    assert not worse.replaced
    assert load_manifest(work.models).bundle == before.bundle  # untouched
    assert [m.bundle for m in kept_bundles(work.models)] == [before.bundle]
    assert [p.name for p in work.models.glob("bundle-*")] == [before.bundle]  # orphan gone
    assert orphan.bundle != before.bundle
    with caplog.at_level("INFO", logger="numerpilot.pipeline.retrain"):
        within = retrain(Context.load(work), tolerance=worse.old_corr - worse.new_corr + 1e-6)
    assert within.replaced  # worse, but by less than the tolerance, and it says so
    assert "within the tolerance of" in caplog.records[-1].getMessage()
    work.config_path.write_text(GOOD)
    better = retrain(Context.load(work), tolerance=0.0)
    assert better.replaced and better.new_corr > better.old_corr
    assert load_manifest(work.models).bundle == better.current.bundle != before.bundle


def test_rollback_goes_back_and_forth(daemon_dir: Workdir, numerpilot: Numerpilot) -> None:
    with pytest.raises(DataError, match="no earlier bundle"):
        rollback(daemon_dir.models)
    first = load_manifest(daemon_dir.models)
    second = retrain(Context.load(daemon_dir), tolerance=1.0).current
    assert load_manifest(daemon_dir.models).bundle == second.bundle
    assert rollback(daemon_dir.models)[1].bundle == first.bundle
    assert load_manifest(daemon_dir.models).bundle == first.bundle
    assert rollback(daemon_dir.models)[1].bundle == second.bundle
    model = sorted((daemon_dir.models / first.bundle).glob("target*.txt"))[0]
    model.write_text("")  # the earlier bundle is damaged: the current one stays
    with pytest.raises(DataError, match=f"{first.bundle} cannot be used"):
        rollback(daemon_dir.models)
    assert load_manifest(daemon_dir.models).bundle == second.bundle
    listed = numerpilot("models", "list", "-C", str(daemon_dir.root)).out.splitlines()
    assert listed[0].startswith(f"* {second.bundle}") and "DAMAGED" not in listed[0]
    assert listed[1].startswith(f"  {first.bundle}")
    assert listed[1].endswith(f"DAMAGED (missing or empty: {model.name})")


def _weekly_with_models_from(daemon_dir: Workdir, ago: timedelta) -> tuple[Config, str]:
    """``retrain = "weekly"`` configured, and the models in use trained and put in use
    ``ago``: the config, and that time as the manifest records it."""
    with daemon_dir.config_path.open("a") as fh:
        fh.write('retrain = "weekly"\n')
    path = daemon_dir.models / "manifest.json"
    raw = json.loads(path.read_text())
    when = (datetime.now(UTC) - ago).isoformat(timespec="seconds")
    raw["created"] = raw["in_use_since"] = when
    path.write_text(json.dumps(raw))
    return load_config(daemon_dir.config_path), when


def test_daemon_retrains_weekly_between_rounds_only(
    daemon_dir: Workdir, client: NumeraiClient, sandbox: SandboxServer, tmp_path: Path
) -> None:
    config, _ = _weekly_with_models_from(daemon_dir, timedelta(days=8))
    first = load_manifest(daemon_dir.models)
    runner = Daemon(daemon_dir, config, client, seed=0)
    _polls(runner)  # 12:05 on the sandbox: a round is open
    assert load_manifest(daemon_dir.models).bundle == first.bundle  # never in a window
    sandbox.clock.advance(timedelta(hours=8))  # 20:05: the round closed, none open
    _look(runner)  # the server's clock jumped: one more look, and it runs as before
    report = runner.pass_once()
    assert report.failures == []
    assert load_manifest(daemon_dir.models).bundle != first.bundle  # retrained, same seed


def test_kept_are_the_bundle_in_use_and_the_one_before(daemon_dir: Workdir) -> None:
    """Roll back, then retrain: the bundle rolled back to is the one kept for the next
    rollback (not the one rolled away from); a bundle that a killed training left
    unpublished is neither listed nor rolled back to, and goes at the next publish."""
    ctx = Context.load(daemon_dir)
    a = load_manifest(daemon_dir.models)
    b = retrain(ctx, tolerance=1.0).current
    assert rollback(daemon_dir.models)[1].bundle == a.bundle
    orphan = train_ensemble(ctx, publish=False)  # as if killed before the comparison
    assert [m.bundle for m in kept_bundles(daemon_dir.models)] == [b.bundle, a.bundle]
    c = retrain(ctx, tolerance=1.0).current
    assert [m.bundle for m in kept_bundles(daemon_dir.models)] == [c.bundle, a.bundle]
    assert not (daemon_dir.models / b.bundle).exists()
    assert not (daemon_dir.models / orphan.bundle).exists()
    assert rollback(daemon_dir.models)[1].bundle == a.bundle
    weekly = load_manifest(daemon_dir.models)  # a rollback starts the weekly clock again
    assert weekly.in_use_since >= weekly.created and weekly.previous == c.bundle


def test_no_rollback_while_the_models_change(daemon_dir: Workdir, numerpilot: Numerpilot) -> None:
    ctx = Context.load(daemon_dir)
    first = load_manifest(daemon_dir.models)
    retrain(ctx, tolerance=1.0)
    with daemon_dir.changing_models():  # a retrain or a train is running
        refused = numerpilot("models", "rollback", "-C", str(daemon_dir.root))
        with pytest.raises(LockedError, match="training or switching the models"):
            retrain(ctx, tolerance=1.0)
    assert refused.code == 1 and "training or switching the models" in refused.err
    assert load_manifest(daemon_dir.models).bundle != first.bundle  # untouched
    assert numerpilot("models", "rollback", "-C", str(daemon_dir.root)).code == 0
    assert load_manifest(daemon_dir.models).bundle == first.bundle


@pytest.fixture
def stale(daemon_dir: Workdir, client: NumeraiClient, sandbox: SandboxServer) -> Daemon:
    """A daemon between rounds whose models are due for their weekly retrain."""
    config, _ = _weekly_with_models_from(daemon_dir, timedelta(days=5 * 365))
    runner = Daemon(daemon_dir, config, client, seed=0)
    _polls(runner)  # a round is open: no retrain; the daemon has measured the server's clock
    sandbox.clock.advance(timedelta(hours=8))  # the round closed, none open
    _look(runner)
    return runner


def _polls(runner: Daemon) -> None:
    """A few passes a quarter second apart: the server clock's rate is measured."""
    import time

    for _ in range(4):
        runner.pass_once()
        time.sleep(0.25)
    assert runner.clock.measured


def _look(runner: Daemon) -> None:
    """Two looks at the server's clock a quarter second apart after a jump (the daemon
    looks again before it trusts the rate after one): the rate is measured again."""
    import time

    for _ in range(2):
        time.sleep(0.25)
        runner.client.rounds(limit=1)
        runner.clock.observe(runner.client.api.server_time, runner.client.api.received_at)
    assert runner.clock.measured


def _bundles(work: Workdir) -> list[str]:
    return sorted(p.name for p in work.models.glob("bundle-*"))


def test_sigterm_stops_a_retrain_at_once_and_discards_it(
    stale: Daemon, daemon_dir: Workdir, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import signal

    from numerpilot.pipeline import retrain as module

    before, folders = load_manifest(daemon_dir.models), _bundles(daemon_dir)
    real = module.validate_ensemble

    def sigterm_then(*args: object, **kwargs: object) -> object:
        os.kill(os.getpid(), signal.SIGTERM)  # systemctl stop, while the new bundle waits
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(module, "validate_ensemble", sigterm_then)
    with stale.signal_handlers():
        stale.run()
    assert stale.stopped_by == signal.SIGTERM
    assert load_manifest(daemon_dir.models).bundle == before.bundle  # the models in use
    assert _bundles(daemon_dir) == folders  # the unfinished bundle is gone


def test_a_retrain_stops_when_the_next_round_is_due(
    stale: Daemon, daemon_dir: Workdir, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from numerpilot.automation.daemon import PassReport
    from numerpilot.pipeline import retrain as module

    before = load_manifest(daemon_dir.models)
    monkeypatch.setattr(module, "train_ensemble", lambda *a, **k: time.sleep(30))
    current = stale.client.current_round()
    due = PassReport(current.number, stale.clock.now() + timedelta(seconds=0.5))
    started = time.monotonic()
    stale._maybe_retrain(current, due)
    assert time.monotonic() - started < 10 and due.failures == []
    assert load_manifest(daemon_dir.models).bundle == before.bundle
    now = PassReport(current.number, stale.clock.now())  # the next round opens now:
    monkeypatch.setattr(module, "train_ensemble", None)  # no retrain is started
    stale._maybe_retrain(current, now)
    assert now.failures == []


def test_a_killed_retrain_after_the_first_train_is_not_a_bundle(daemon_dir: Workdir) -> None:
    """The first bundle has no predecessor: a training that never finished is not one,
    also when manifest.json was written before it named its predecessor."""
    ctx = Context.load(daemon_dir)
    first = load_manifest(daemon_dir.models)
    assert first.previous == ""
    train_ensemble(ctx, publish=False)  # as if killed before the comparison
    assert [m.bundle for m in kept_bundles(daemon_dir.models)] == [first.bundle]
    with pytest.raises(DataError, match="no earlier bundle"):
        rollback(daemon_dir.models)
    path = daemon_dir.models / "manifest.json"
    raw = json.loads(path.read_text())
    del raw["previous"], raw["in_use_since"]  # written by an earlier numerpilot
    path.write_text(json.dumps(raw))
    assert [m.bundle for m in kept_bundles(daemon_dir.models)] == [first.bundle]


def test_a_training_of_yours_is_waited_for_not_a_failure(
    stale: Daemon, daemon_dir: Workdir, caplog: pytest.LogCaptureFixture
) -> None:
    """A manual 'train' holds the models: the daemon says so once and retries later; no
    failure, no alert, nothing downloaded meanwhile."""
    from numerpilot.automation.daemon import PassReport

    current = stale.client.current_round()
    before = load_manifest(daemon_dir.models)
    with daemon_dir.changing_models(), caplog.at_level("INFO"):
        for _ in range(3):  # three polls while the training runs
            report = PassReport(current.number, stale.clock.now() + timedelta(hours=1))
            stale._maybe_retrain(current, report)
            assert report.failures == []
    said = [r.getMessage() for r in caplog.records if "not retraining now" in r.getMessage()]
    assert len(said) == 1 and "training or switching the models" in said[0]
    assert not [r for r in caplog.records if r.getMessage().startswith("alert (")]
    assert load_manifest(daemon_dir.models).bundle == before.bundle
    assert stale.retrainer.tried == set()  # tried again once the training is done


def test_sleeps_are_one_poll_until_the_server_clock_rate_is_known(
    daemon_dir: Workdir, client: NumeraiClient
) -> None:
    """A sandbox clock may run 60 times faster: a 15-minute sleep at an assumed rate of 1
    could pass a whole round, so the daemon polls until it has measured the rate."""
    stale = Daemon(daemon_dir, load_config(daemon_dir.config_path), client, seed=0)
    stale.pass_once()
    later = stale.clock.now() + timedelta(days=1)
    assert not stale.clock.measured
    assert stale._sleep_seconds(later) <= stale.settings.poll_seconds * 1.2
    base = time.monotonic() + 1.0  # after the pass's own sample, as monotonic time runs
    for k in range(4):  # the server's clock at real speed, sampled a second apart
        stale.clock.observe(later + timedelta(seconds=k), base + k)
    assert stale.clock.measured
    assert stale._sleep_seconds(later + timedelta(days=1)) == stale.settings.max_sleep_seconds


def test_weekly_is_a_week_on_the_server_clock(daemon_dir: Workdir, client: NumeraiClient) -> None:
    """Against a sandbox whose clock runs an hour per second, models trained three minutes
    ago are a week and more old on the server's clock: 'weekly' retrains (it never did
    there: a week of this machine's time had to pass)."""
    from numerpilot.automation.retraining import retrain_reason

    config, minutes_ago = _weekly_with_models_from(daemon_dir, timedelta(minutes=3))
    assert retrain_reason(daemon_dir, config, client) is None  # Numerai's clock: 3 minutes
    reason = retrain_reason(daemon_dir, config, client, rate=3600.0)
    assert reason == f"weekly: the models in use date from {minutes_ago}"


def test_the_daemon_looks_again_when_the_round_closes_to_retrain(
    daemon_dir: Workdir, client: NumeraiClient, sandbox: SandboxServer
) -> None:
    """Submitted in a round that still takes late submissions: with retraining on, the
    daemon looks again when the round closes (the gap begins), not only before the next
    round; one sleep over the whole gap (an accelerated clock) never retrained."""
    config = load_config(daemon_dir.config_path)
    plain = Daemon(daemon_dir, config, client, seed=0).pass_once()
    assert plain.closes is None and plain.look == plain.wake  # retrain = "never"
    with daemon_dir.config_path.open("a") as fh:
        fh.write('retrain = "weekly"\n')
    runner = Daemon(daemon_dir, load_config(daemon_dir.config_path), client, seed=0)
    report = runner.pass_once()  # Tuesday 12:05: submitted; the round closes at 19:00
    current = client.current_round()
    assert report.wake is not None and report.closes == current.close_time < report.wake
    assert report.look == current.close_time
    said = runner._next_look(report)
    assert said.startswith(f"looking again at {current.close_time:%a %H:%M} UTC when it closes")
    sandbox.clock.advance(timedelta(hours=8))  # the gap: the round closed
    assert runner.pass_once().closes is None


def test_a_retrain_measures_the_server_clock_first(
    daemon_dir: Workdir, sandbox_data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Just started, the daemon reads the server clock's rate as 1: against a sandbox an
    hour per second, a retrain started then had a deadline of a day of real time, past
    many rounds. It measures the rate first (a few looks), also in a single pass (cron)."""
    from numerpilot.sandbox.presets import OPEN_TUESDAY, SMALL_SPEC

    config, _ = _weekly_with_models_from(daemon_dir, timedelta(days=5 * 365))
    first = load_manifest(daemon_dir.models)
    evening = OPEN_TUESDAY + timedelta(hours=8)  # Tuesday 20:05: between rounds
    with SandboxServer(sandbox_data, spec=SMALL_SPEC, start=evening, speed=3600) as fast:
        client = NumeraiClient(Credentials(DEMO_PUBLIC_ID, DEMO_SECRET_KEY), fast.url)
        runner = Daemon(daemon_dir, config, client, seed=0)
        with caplog.at_level("INFO"):
            runner.pass_once()  # just started
    assert runner.clock.measured and runner.clock.rate > 1000
    (said,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retraining (")]
    seconds = float(said.split("stopped if still running in ")[1].split(" s")[0])
    assert seconds < 20  # Wednesday 12:00 is under 16 hours away: 16 s here, not 57,000
    assert load_manifest(daemon_dir.models).bundle != first.bundle  # retrained


def test_a_retrain_stopped_at_its_deadline_waits_for_a_longer_gap(
    stale: Daemon, daemon_dir: Workdir, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """A retrain longer than a weekday's gap was started and stopped in every gap (the
    models in use stayed for good): one stopped waits for a gap longer than it ran, and
    says why once; a retrain that finished records how long it took."""
    import time

    from numerpilot.automation.daemon import PassReport
    from numerpilot.pipeline import retrain as module

    before, real = load_manifest(daemon_dir.models), module.train_ensemble
    monkeypatch.setattr(module, "train_ensemble", lambda *a, **k: time.sleep(30))
    current = stale.client.current_round()
    stale._maybe_retrain(
        current, PassReport(current.number, stale.clock.now() + timedelta(seconds=1))
    )
    monkeypatch.setattr(module, "train_ensemble", None)  # started again: a TypeError
    with caplog.at_level("INFO"):
        for _ in range(2):  # two more gaps as short
            short = PassReport(current.number, stale.clock.now() + timedelta(seconds=1))
            stale._maybe_retrain(current, short)
            assert short.failures == []
    (said,) = [r.getMessage() for r in caplog.records if "not retrain" in r.getMessage()]
    assert said.startswith("not retraining now (weekly: ")
    assert "the last retrain was stopped after " in said and "a longer gap" in said
    assert load_manifest(daemon_dir.models).bundle == before.bundle
    monkeypatch.setattr(module, "train_ensemble", real)
    longer = PassReport(current.number, stale.clock.now() + timedelta(minutes=10))
    stale._maybe_retrain(current, longer)
    assert longer.failures == [] and load_manifest(daemon_dir.models).bundle != before.bundle
    record = json.loads((daemon_dir.models / "retrain.json").read_text())
    assert record["finished"] is True and 0 < record["seconds"] < 600


def test_a_training_of_yours_beginning_as_a_retrain_starts_is_refused_not_the_retrain(
    stale: Daemon, daemon_dir: Workdir, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """The daemon checked the models lock, said 'retraining', and a train of yours that
    began then made it say 'not retraining now': it holds the lock from the check on."""
    import contextlib

    from numerpilot.automation.daemon import PassReport
    from numerpilot.data import download

    before, real, yours = load_manifest(daemon_dir.models), download.download_dataset, []
    stack = contextlib.ExitStack()

    def a_train_begins(*args: object, **kwargs: object) -> object:
        try:
            stack.enter_context(daemon_dir.changing_models())
            yours.append("began")
        except LockedError:
            yours.append("refused")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(download, "download_dataset", a_train_begins)
    current = stale.client.current_round()
    with stack, caplog.at_level("INFO"):
        report = PassReport(current.number, stale.clock.now() + timedelta(minutes=10))
        stale._maybe_retrain(current, report)
    said = [r.getMessage() for r in caplog.records if "retrain" in r.getMessage()]
    assert yours == ["refused"] and report.failures == []
    assert said[0].startswith("retraining (weekly: ") and len(said) == 2
    assert not [m for m in said if m.startswith("not retraining")]
    assert load_manifest(daemon_dir.models).bundle != before.bundle


def test_a_damaged_retrain_record_is_ignored(daemon_dir: Workdir) -> None:
    """models/retrain.json cut short or edited by hand: no retrain is held back by it (the
    next one measures again); a whole one holds back a gap shorter than it ran."""
    models = daemon_dir.models
    for text in ('{"seconds": 10', '{"seconds": "long", "finished": true}', "[]", ""):
        (models / RETRAIN_RECORD).write_text(text)
        assert too_short(models, 1.0) is None
    record_retrain(models, 100.0, finished=False)
    record_retrain(models, 5.0, finished=False)  # a SIGTERM after 5 s says less
    said = too_short(models, 110.0)
    assert said is not None and said.startswith("the last retrain was stopped after 100 s")
    assert too_short(models, 125.0) is None


def test_a_retrain_says_each_scoring_note_once(
    tmp_path: Path, signal_data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Both bundles are scored on the same eras: the eras MMC skips (the meta model covers
    only some validation eras here) are said once, not once per bundle."""
    work = _trained(tmp_path, signal_data, GOOD)
    with caplog.at_level("INFO", logger="numerpilot"):
        retrain(Context.load(work), tolerance=1.0)
    notes = [r.getMessage() for r in caplog.records if r.name == "numerpilot.scoring.report"]
    assert [n for n in notes if n.startswith("MMC:")], notes
    assert len(notes) == len(set(notes)), notes


def test_a_jittered_poll_never_sleeps_past_max_sleep_seconds(
    daemon_dir: Workdir, client: NumeraiClient
) -> None:
    """poll_seconds equal to max_sleep_seconds (allowed) slept up to 1.2 times the most."""
    runner = Daemon(daemon_dir, load_config(daemon_dir.config_path), client, seed=0)
    both = {"poll_seconds": 60, "max_sleep_seconds": 60}
    runner.settings = runner.settings.model_copy(update=both)
    sleeps = [runner._sleep_seconds(None) for _ in range(200)]
    assert max(sleeps) == 60 and min(sleeps) >= 48
