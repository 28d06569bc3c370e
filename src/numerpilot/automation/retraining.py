"""When and how the daemon retrains: the policy of ``[daemon] retrain`` against the models
in use, whether the time left before the next round holds a retrain (how long the last one
ran is kept in ``models/retrain.json``), and the retrain itself, between rounds only.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from numerpilot.api.client import NumeraiClient
from numerpilot.api.rounds import RoundInfo
from numerpilot.automation.alerts import Alert, Alerts
from numerpilot.automation.clock import ServerClock
from numerpilot.automation.stoppable import Stoppable, Stopped
from numerpilot.config import Config
from numerpilot.errors import NumerpilotError, failure_line
from numerpilot.lock import LockedError
from numerpilot.modeling.manifest import load_manifest
from numerpilot.modeling.retrain_record import (
    config_sha256,
    failed_retrain,
    kept_out,
    last_retrain,
    record_failed,
    record_retrain,
)
from numerpilot.words import span
from numerpilot.workdir import Workdir

if TYPE_CHECKING:
    from numerpilot.pipeline.retrain import RetrainResult

log = logging.getLogger(__name__)

#: A retrain starts only with this many times its last duration left before its deadline.
MARGIN = 1.25
#: The most looks at the server's clock to measure its rate before a retrain (2 s).
_CLOCK_LOOKS = 8


def retrain_reason(
    workdir: Workdir, config: Config, client: NumeraiClient, *, rate: float = 1.0
) -> str | None:
    """Why the models in ``workdir`` are due for retraining now (None when they are not):
    none trained; ``weekly``, a week since they were trained or put in use (a rollback
    starts the week again), or since a retrain kept its new models out in favour of them,
    on the server's clock, which runs ``rate`` times as fast as this machine's (an
    accelerated sandbox); ``new-data-version``, Numerai's newest version is another, and
    no retrain on it kept its models out in favour of the ones in use."""
    try:
        manifest = load_manifest(workdir.models)
    except NumerpilotError:
        return "no trained models"
    kept = kept_out(workdir.models, manifest)
    if config.daemon.retrain == "weekly":
        # the time passed on the clock that stamped them (this machine's; a skew does not
        # matter), at the server clock's rate: a sandbox's week may last minutes
        since = max(manifest.created, manifest.in_use_since or manifest.created)
        checked = kept is not None and _after(kept.at, since)
        start = kept.at if kept is not None and checked else since
        if (datetime.now(UTC) - datetime.fromisoformat(start)) * rate < timedelta(days=7):
            return None
        if checked:
            return f"weekly: the last retrain, at {start}, kept out its models for the ones in use"
        return f"weekly: the models in use date from {since}"
    if config.data.version != "newest":
        return None
    newest = client.newest_version()
    if newest == manifest.data_version or (
        kept is not None
        and kept.data_version == newest
        and kept.config in ("", config_sha256(workdir.config_path))  # "": recorded before
    ):
        return None
    return f"new data version {newest} (models: {manifest.data_version})"


def _after(a: str, b: str) -> bool:
    """Whether the ISO time ``a`` is later than ``b`` (False when either cannot be read)."""
    try:
        return datetime.fromisoformat(a) > datetime.fromisoformat(b)
    except ValueError:
        return False


def too_short(models: Path, seconds: float) -> str | None:
    """Why ``seconds`` are too few for a retrain (None: enough, or nothing measured)."""
    last = last_retrain(models)
    if last is None or last[0] * MARGIN <= seconds:
        return None
    took = f"took {span(last[0])}" if last[1] else f"was stopped after {span(last[0])}"
    return (f"the last retrain {took}, and the next round is due in {span(seconds)}; "
            "waiting for a longer gap between rounds")  # fmt: skip


class Retrainer:
    """The daemon's retrains: between rounds only, stopped (and discarded) when the next
    round is about to open or the daemon is told to stop, so that none holds up a round's
    submissions. None starts before the server clock's rate is measured: the deadline is on
    that clock, which may run fast (a sandbox's; the weekly age, read at rate 1 until then,
    only grows with it); nor when the last retrain took longer than the time left (one
    stopped at every weekday's deadline waits for the weekend's gap)."""

    def __init__(
        self, workdir: Workdir, config: Config, client: NumeraiClient, clock: ServerClock,
        stop: threading.Event, alerts: Alerts,
    ) -> None:  # fmt: skip
        self.workdir, self.config, self.client = workdir, config, client
        self.clock, self.stop, self.alerts = clock, stop, alerts
        self.running = Stoppable()  # the retrain in progress, stopped by a signal
        self.tried: set[str] = set()  # the reasons retrained for (one retrain each)
        #: The reasons whose retrain failed: the round then current and the config's text
        #: (its SHA-256), tried again once either changes (a mistake fixed, or a fault passed
        #: by then); kept in ``models/retrain.json`` too, for the next ``daemon --once``.
        last = failed_retrain(workdir.models)
        self.failed: dict[str, tuple[int, str]] = dict([last]) if last else {}
        self.tried.update(self.failed)
        self._said: str | None = None  # why retraining waits, said once
        pinned = config.data.version != "newest"
        if config.daemon.retrain == "new-data-version" and pinned:
            log.warning(
                'retrain = "new-data-version" never retrains while data.version is pinned to '
                '%s: set data.version = "newest" to follow Numerai\'s new versions, or retrain '
                '= "weekly"',
                config.data.version,
            )

    def maybe(self, current: RoundInfo, wake: datetime | None) -> list[str]:
        """Retrain now if due and there is time before ``wake`` (server time, when the next
        round is due); the failures to report."""
        reason = retrain_reason(self.workdir, self.config, self.client, rate=self.clock.rate)
        if reason is None or self.stop.is_set():
            return []
        if reason in self.tried and not self._try_again(reason, current):
            return []
        if not self.measure_clock():
            log.debug("not retraining yet: the server clock's rate is not measured")
            return []
        seconds = self.clock.real_seconds(wake) if wake else 0.0
        if seconds <= 0:
            self._say_once(f"not retraining now ({reason}): the next round opens about now")
            return []
        short = too_short(self.workdir.models, seconds)
        if short:
            self._say_once(f"not retraining now ({reason}): {short}")
            return []
        with contextlib.ExitStack() as held:
            try:  # held throughout: a training of yours cannot begin after this check
                held.enter_context(self.workdir.changing_models())
            except LockedError as error:  # a training of yours: no failure, no download
                self._say_once(f"not retraining now ({reason}): {error} Trying again later.")
                return []
            self.tried.add(reason)
            self._said = None
            log.info("retraining (%s); stopped if still running in %s, when the next round "
                     "is due", reason, span(seconds))  # fmt: skip
            return self._run(current, reason, seconds)

    def _run(self, current: RoundInfo, reason: str, seconds: float) -> list[str]:
        """The retrain itself, cut after ``seconds``; how long it ran is recorded."""
        began = time.monotonic()
        try:
            with self.running.within(seconds, "the next round is due"):
                self._retrain(current)  # it logs its verdict
        except Stopped as stopped:
            self.tried.discard(reason)  # tried again in a gap long enough
            record_retrain(self.workdir.models, time.monotonic() - began, finished=False)
            log.warning("retraining stopped (%s) after %s; the models in use stay", stopped,
                        span(time.monotonic() - began))  # fmt: skip
            return []
        except LockedError as error:  # a download of yours into the data folder
            self.tried.discard(reason)
            self._say_once(f"not retraining now ({reason}): {error} Trying again later.")
            return []
        except (NumerpilotError, OSError, MemoryError) as error:
            self.failed[reason] = (current.number, config_sha256(self.workdir.config_path))
            record_failed(self.workdir.models, reason, *self.failed[reason])
            line = failure_line(error).rstrip()
            message = (
                f"retraining failed: {line}{'' if line.endswith('.') else '.'} The models in use "
                f"stay; it is tried again when {self.workdir.config_path.name} changes, or "
                "after the next round."
            )
            tournament = self.config.submission.tournament
            self.alerts.send(Alert("failed", tournament, current.number, None, message))
            return [message]
        self.failed.pop(reason, None)
        record_retrain(self.workdir.models, time.monotonic() - began, finished=True)
        record_failed(self.workdir.models, None)
        return []

    def _try_again(self, reason: str, current: RoundInfo) -> bool:
        """Whether a retrain for ``reason``, tried already, failed and may be tried again: the
        config changed since (a mistake fixed), or a round has opened since (a fault passed)."""
        failed = self.failed.get(reason)
        if failed is None:
            return False
        return current.number != failed[0] or config_sha256(self.workdir.config_path) != failed[1]

    def measure_clock(self) -> bool:
        """Look at the server's clock a few times, a quarter second apart, until its rate is
        known (just started, or after a jump); False if it is not, or the daemon stops."""
        for _ in range(_CLOCK_LOOKS):
            if self.clock.measured:
                return True
            if self.stop.wait(0.25):
                return False
            self.client.rounds(limit=1)
            self.clock.observe(self.client.api.server_time, self.client.api.received_at)
        return self.clock.measured

    def _say_once(self, message: str) -> None:
        """Log why retraining waits once, not at every poll until it can go ahead."""
        if message != self._said:
            log.info("%s", message)
        self._said = message

    def _retrain(self, current: RoundInfo) -> RetrainResult:
        """Download what is new and retrain (the caller holds the models lock)."""
        from numerpilot.data.download import download_dataset
        from numerpilot.pipeline.context import Context
        from numerpilot.pipeline.retrain import retrain

        ctx = Context.load(self.workdir)  # the config as it is now: its data, its tolerance
        download_dataset(self.workdir, ctx.config, self.client, info=current)
        return retrain(ctx, ctx.config.daemon.retrain_tolerance, locked=True)
