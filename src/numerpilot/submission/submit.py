"""Checked submissions: validate, refuse what Numerai would reject, upload once per round.

Order of checks (cheapest and most local first): the file obeys numerai-tools' submission
rules against the live ids; the round is open; the live file is this round's; the model
names exist. Then each model is uploaded unless the ledger already holds its submission
for this round (``force`` uploads again), and recorded only once Numerai confirmed it.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from numerpilot.api.client import NumeraiClient, RoundInfo
from numerpilot.config import Config
from numerpilot.data import layout
from numerpilot.data.download import resolve_version
from numerpilot.data.live_round import read_live_round
from numerpilot.errors import DataError, SubmissionError, UsageError
from numerpilot.io import sha256_file
from numerpilot.submission.ledger import Ledger, SubmissionRecord, now_iso
from numerpilot.submission.rules import check_file
from numerpilot.workdir import Workdir

log = logging.getLogger(__name__)


def _live_ids(folder: Path) -> pd.Series:
    live = folder / layout.LIVE
    if not live.exists():
        raise DataError(f"{live} is missing: run 'numerpilot download'.")
    table = pq.read_table(live, columns=[layout.ID])
    return pd.Series(table.column(layout.ID).to_pylist(), dtype=str)


def check_round(info: RoundInfo, folder: Path | None) -> None:
    """Refuse a closed round, and a live file that is not the open round's."""
    if not info.is_open:
        raise SubmissionError(
            f"Round {info.number} is closed (it closed {info.close_time:%a %Y-%m-%d %H:%M} "
            "UTC). Rounds open Tuesday to Saturday at 13:00 UTC: run 'numerpilot download' "
            "and 'numerpilot predict' then, and submit again."
        )
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


def submit_predictions(
    workdir: Workdir,
    config: Config,
    client: NumeraiClient,
    predictions_path: Path,
    *,
    models: list[str] | None = None,
    force: bool = False,
    dry_run: bool = False,
) -> list[SubmissionRecord]:
    """Validate, check the round, upload for each model, and record confirmed uploads.

    A dry run checks everything it can and uploads nothing: without API keys it skips the
    model-name check, and without configured models it checks only the file and the round.
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
    info = client.current_round()
    check_round(info, folder)
    if dry_run and not client.has_credentials:
        log.warning("no API keys: model names were not checked against your account")
        available = dict.fromkeys(names, "")
    else:
        available = client.models()
    unknown = [n for n in names if n not in available]
    if unknown:
        raise SubmissionError(
            f"Unknown {tournament} model(s) {', '.join(unknown)} for these API keys; the "
            f"account has: {', '.join(sorted(available)) or 'no models'}."
        )
    digest = sha256_file(path)
    ledger = Ledger(workdir.state_db)
    records: list[SubmissionRecord] = []
    for name in names:
        model_id = available[name]
        previous = ledger.find(tournament, model_id, info.number)
        if previous and not force:
            records.append(replace(previous, status="already_done"))
            continue
        if dry_run:
            records.append(
                SubmissionRecord(
                    tournament,
                    name,
                    model_id,
                    info.number,
                    None,
                    digest,
                    str(path),
                    now_iso(),
                    "dry_run",
                )
            )
            continue
        if sha256_file(path) != digest:
            raise SubmissionError(f"{path} changed while submitting; run the command again.")
        submission_id = client.upload_predictions(path, model_id)
        record = SubmissionRecord(
            tournament, name, model_id, info.number, submission_id, digest, str(path), now_iso()
        )
        ledger.record(record)
        log.info("submitted %s for %s in round %d", path.name, name, info.number)
        records.append(record)
    return records
