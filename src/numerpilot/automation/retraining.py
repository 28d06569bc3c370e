"""When the daemon retrains: the policy of ``[daemon] retrain`` against the models in use,
and whether the time left before the next round holds a retrain (how long the last one ran
is kept in ``models/retrain.json``)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from numerpilot.api.client import NumeraiClient
from numerpilot.automation.clock import span
from numerpilot.config import Config
from numerpilot.errors import NumerpilotError, from_os_error
from numerpilot.io import write_text_atomic
from numerpilot.modeling.store import load_manifest
from numerpilot.workdir import Workdir

log = logging.getLogger(__name__)

#: How long the last retrain ran (real seconds) and whether it finished, in ``models/``.
RETRAIN_RECORD = "retrain.json"
#: A retrain starts only with this many times its last duration left before its deadline.
MARGIN = 1.25


def retrain_reason(
    workdir: Workdir, config: Config, client: NumeraiClient, *, rate: float = 1.0
) -> str | None:
    """Why the models in ``workdir`` are due for retraining now (None when they are not):
    none trained; ``weekly``, a week since they were trained or put in use (a rollback
    starts the week again) on the server's clock, which runs ``rate`` times as fast as
    this machine's (an accelerated sandbox); ``new-data-version``, Numerai's newest
    version is another."""
    try:
        manifest = load_manifest(workdir.models)
    except NumerpilotError:
        return "no trained models"
    if config.daemon.retrain == "weekly":
        # the time passed on the clock that stamped them (this machine's; a skew does not
        # matter), at the server clock's rate: a sandbox's week may last minutes
        since = max(manifest.created, manifest.in_use_since or manifest.created)
        if (datetime.now(UTC) - datetime.fromisoformat(since)) * rate >= timedelta(days=7):
            return f"weekly: the models in use date from {since}"
        return None
    if config.data.version != "newest":
        return None
    newest = client.newest_version()
    if newest != manifest.data_version:
        return f"new data version {newest} (models: {manifest.data_version})"
    return None


def last_retrain(models: Path) -> tuple[float, bool] | None:
    """How long the last retrain ran (real seconds) and whether it finished."""
    try:
        raw = json.loads((models / RETRAIN_RECORD).read_text())
        return float(raw["seconds"]), bool(raw["finished"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # none yet, or unreadable: the next one measures it


def record_retrain(models: Path, seconds: float, *, finished: bool) -> None:
    """Record a retrain's duration; one stopped records what is known: it needs more than it
    ran, and than a longer one recorded before (a stop by SIGTERM says little)."""
    last = last_retrain(models)
    if not finished and last is not None and last[0] >= seconds:
        seconds, finished = last
    text = json.dumps({"seconds": round(seconds, 1), "finished": finished}) + "\n"
    try:
        models.mkdir(parents=True, exist_ok=True)
        write_text_atomic(models / RETRAIN_RECORD, text)
    except OSError as error:
        log.warning("could not record how long the retrain ran: %s", from_os_error(error))


def too_short(models: Path, seconds: float) -> str | None:
    """Why ``seconds`` are too few for a retrain (None: enough, or nothing measured)."""
    last = last_retrain(models)
    if last is None or last[0] * MARGIN <= seconds:
        return None
    took = f"took {span(last[0])}" if last[1] else f"was stopped after {span(last[0])}"
    return (f"the last retrain {took}, and the next round is due in {span(seconds)}; "
            "waiting for a longer gap between rounds")  # fmt: skip
