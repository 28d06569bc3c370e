"""When the daemon retrains: the policy of ``[daemon] retrain`` against the models in use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from numerpilot.api.client import NumeraiClient
from numerpilot.config import Config
from numerpilot.errors import NumerpilotError
from numerpilot.modeling.store import load_manifest
from numerpilot.workdir import Workdir


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
