"""Checked submissions: validate, refuse what Numerai would reject, upload once per round.

Order of checks (cheapest and most local first): the file obeys the tournament's rules
against the live ids; the round takes submissions; the live file is this round's; the
model names exist. Then, under the work directory's submit lock, each model is uploaded
exactly once per round (:mod:`numerpilot.submission.once`; ``force`` uploads again). A dry
run makes every check and uploads nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from numerpilot.api.client import NumeraiClient
from numerpilot.api.rounds import RoundInfo
from numerpilot.config import Config
from numerpilot.data import layout
from numerpilot.data.download import resolve_version
from numerpilot.data.live_round import read_live_round
from numerpilot.errors import DataError, SubmissionError, UsageError
from numerpilot.io import sha256_file
from numerpilot.submission.ledger import Ledger
from numerpilot.submission.lock import hold
from numerpilot.submission.once import SubmitResult, Target, check_late, on_numerai, submit_once
from numerpilot.submission.rules import check_file
from numerpilot.workdir import Workdir

log = logging.getLogger(__name__)

LOCK_FILE = "state.lock"
#: How long a submit waits for another process that is submitting in the same work dir.
LOCK_WAIT_SECONDS = 120.0


def _live_ids(folder: Path) -> pd.Series:
    live = folder / layout.LIVE
    if not live.exists():
        raise DataError(f"{live} is missing: run 'numerpilot download'.")
    table = pq.read_table(live, columns=[layout.ID])
    return pd.Series(table.column(layout.ID).to_pylist(), dtype=str)


def check_live_round(info: RoundInfo, folder: Path | None) -> None:
    """Refuse a live file that is not the current round's."""
    if folder is None:
        return
    marker = read_live_round(folder)
    if marker is None:
        raise SubmissionError(
            f"No record of which round {folder / layout.LIVE} belongs to: run "
            "'numerpilot download' and 'numerpilot predict' before submitting."
        )
    if marker["round"] != info.number:
        raise SubmissionError(
            f"live.parquet is from round {marker['round']} but round {info.number} is open: "
            "run 'numerpilot download' and 'numerpilot predict' first."
        )


def _model_ids(
    client: NumeraiClient, tournament: str, names: list[str], dry_run: bool
) -> dict[str, str]:
    if dry_run and not client.has_credentials:
        log.warning("no API keys: model names were not checked against your account")
        return dict.fromkeys(names, "")
    available = client.models()
    unknown = [n for n in names if n not in available]
    if unknown:
        raise SubmissionError(
            f"Unknown {tournament} model(s) {', '.join(unknown)} for these API keys; the "
            f"account has: {', '.join(sorted(available)) or 'no models'}."
        )
    return available


def submit_predictions(
    workdir: Workdir,
    config: Config,
    client: NumeraiClient,
    predictions_path: Path,
    *,
    models: list[str] | None = None,
    force: bool = False,
    dry_run: bool = False,
    info: RoundInfo | None = None,
) -> list[SubmitResult]:
    """Check the file and the round, then upload once per model and round.

    ``info``: the round to submit for, as the caller saw it (default: the current round).
    A dry run checks everything it can (also in a round already submitted) and uploads
    nothing: without API keys it skips the model-name check.
    """
    tournament = config.submission.tournament
    names = list(models or config.submission.models)
    if not names and not dry_run:
        raise UsageError(
            "No model to submit for: pass --model NAME or list your Numerai model names in "
            "numerpilot.toml under [submission] models = [...]."
        )
    path = Path(predictions_path)
    folder: Path | None = None
    live_ids: pd.Series | None = None
    if tournament == "classic":
        folder = workdir.data_root(config) / resolve_version(config, client)
        live_ids = _live_ids(folder)
    check_file(path, tournament, live_ids)
    info = info or client.current_round()
    check_late(info)
    check_live_round(info, folder)
    ids = _model_ids(client, tournament, names, dry_run)
    digest = sha256_file(path)
    targets = [Target(tournament, n, ids[n], info, path, digest) for n in names]
    if dry_run:
        return [_dry_run(client, t) for t in targets]
    ledger = Ledger(workdir.state_db)
    results = []
    with hold(workdir.root / LOCK_FILE, wait=LOCK_WAIT_SECONDS, what="submitting"):
        for target in targets:
            if sha256_file(path) != digest:
                raise SubmissionError(f"{path} changed while submitting; run the command again.")
            results.append(submit_once(ledger, client, target, force=force))
    return results


def _dry_run(client: NumeraiClient, target: Target) -> SubmitResult:
    existing = on_numerai(client, target) if client.has_credentials else None
    detail = f"already submitted ({existing.id})" if existing else ""
    return target.result("dry_run", existing.id if existing else None, detail)
