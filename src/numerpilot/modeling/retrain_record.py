"""``models/retrain.json``: what the daemon remembers of its retrains across restarts (a
``daemon --once`` of cron's is a new process each time): how long the last one ran, the last
that kept its new models out, and the last that failed."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from numerpilot.errors import from_os_error
from numerpilot.io import write_text_atomic

if TYPE_CHECKING:
    from numerpilot.modeling.manifest import Manifest

log = logging.getLogger(__name__)

#: The record, in ``models/``.
RETRAIN_RECORD = "retrain.json"


@dataclass(frozen=True)
class KeptOut:
    """The last retrain that kept its new models out: the models it left in use (their
    bundle folder, "" for models saved before bundles, and when they were trained), when
    (this machine's clock, ISO, as a manifest's ``created``), on which data version, and
    the SHA-256 of the config it ran with."""

    bundle: str
    created: str
    at: str
    data_version: str
    config: str


def config_sha256(path: Path) -> str:
    """The SHA-256 of the config file ``path`` as it is now ("" when it cannot be read)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def _record(models: Path) -> dict[str, Any]:
    """``models/retrain.json`` as read ({} when missing or unreadable)."""
    try:
        raw = json.loads((models / RETRAIN_RECORD).read_text())
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


def _write_record(models: Path, raw: dict[str, Any]) -> None:
    """Write ``models/retrain.json``; a failure is a warning (the record is a hint)."""
    try:
        models.mkdir(parents=True, exist_ok=True)
        write_text_atomic(models / RETRAIN_RECORD, json.dumps(raw) + "\n")
    except OSError as error:
        log.warning("could not record the retrain: %s", from_os_error(error))


def kept_out(models: Path, in_use: Manifest) -> KeptOut | None:
    """The last kept-out retrain, if it left the models ``in_use`` in use (None otherwise:
    none, or the models in use changed since, by a retrain, a train or a rollback)."""
    raw = _record(models).get("kept_out")
    if not isinstance(raw, dict):
        return None
    try:
        kept = KeptOut(str(raw["bundle"]), str(raw.get("created", "")), str(raw["at"]),
                       str(raw["data_version"]), str(raw.get("config", "")))  # fmt: skip
        aware = datetime.fromisoformat(kept.at).tzinfo is not None
    except (KeyError, ValueError):
        return None  # damaged, or edited by hand: no retrain is held back by it
    same = kept.bundle == in_use.bundle and kept.created in ("", in_use.created)
    return kept if aware and same and (kept.bundle or kept.created) else None


def failed_retrain(models: Path) -> tuple[str, tuple[int, str]] | None:
    """The last failed retrain, as recorded: its reason, the round then current and the
    SHA-256 of the config it failed with (None: none, or the retrain after it worked)."""
    raw = _record(models).get("failed")
    if not isinstance(raw, dict):
        return None
    try:
        return str(raw["reason"]), (int(raw["round"]), str(raw["config"]))
    except (KeyError, TypeError, ValueError):
        return None


def record_failed(models: Path, reason: str | None, number: int = 0, config: str = "") -> None:
    """Record a failed retrain (``reason`` None: none failed), so that the next daemon (a
    ``daemon --once`` of cron's) tries it again, and alerts, only as this one would: once
    the config changes or another round has opened."""
    raw = _record(models)
    if reason is None and "failed" not in raw:
        return
    raw.pop("failed", None)
    if reason is not None:
        raw["failed"] = {"reason": reason, "round": number, "config": config}
    _write_record(models, raw)


def record_kept_out(models: Path, in_use: Manifest, data_version: str, config: str) -> None:
    """Record that a retrain on ``data_version`` with the config of SHA-256 ``config`` kept
    its models out for those ``in_use``: a weekly retrain is due a week later, not at once
    (nor never again in this daemon), and one for that data version not again until the
    config changes."""
    raw = _record(models)
    at = datetime.now(UTC).isoformat(timespec="seconds")
    raw["kept_out"] = {"bundle": in_use.bundle, "created": in_use.created, "at": at,
                       "data_version": data_version, "config": config}  # fmt: skip
    _write_record(models, raw)


def last_retrain(models: Path) -> tuple[float, bool] | None:
    """How long the last retrain ran (real seconds) and whether it finished."""
    raw = _record(models)
    try:
        return float(raw["seconds"]), bool(raw["finished"])
    except (ValueError, KeyError, TypeError):
        return None  # none yet, or unreadable: the next one measures it


def record_retrain(models: Path, seconds: float, *, finished: bool) -> None:
    """Record a retrain's duration; one stopped records what is known: it needs more than it
    ran, and than a longer one recorded before (a stop by SIGTERM says little)."""
    last = last_retrain(models)
    if not finished and last is not None and last[0] >= seconds:
        seconds, finished = last
    raw = _record(models)
    raw.update(seconds=round(seconds, 1), finished=finished)
    _write_record(models, raw)
