"""Whether a submission still belongs to its round: the live file and the predictions are
this round's, the round is still open when the upload begins, and a ``[submission]
signal_file`` was written for this round (not left from an earlier one)."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from numerpilot.api.client import NumeraiClient
from numerpilot.api.rounds import RoundInfo
from numerpilot.data import layout
from numerpilot.data.live_round import read_live_round
from numerpilot.data.tournaments import LAYOUTS
from numerpilot.errors import SubmissionError
from numerpilot.io import sha256_file
from numerpilot.submission.ledger import Ledger
from numerpilot.words import span


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


class RoundClosedError(SubmissionError):
    """The round closed before the upload began: nothing was uploaded (the daemon moves on
    to the next round, a person is told what to run)."""


def check_still_open(client: NumeraiClient, info: RoundInfo) -> None:
    """Refuse, under the submit lock, a round that is no longer the open one: an upload
    started now would be filed under the next round, with this round's predictions."""
    now = client.current_round()
    if now.number == info.number and now.is_open:
        return
    if now.number == info.number:
        raise RoundClosedError(
            f"Round {info.number} closed before the upload began; nothing was uploaded. Run "
            "'numerpilot download' and 'numerpilot predict' when the next round opens, then "
            "submit again."
        )
    raise RoundClosedError(
        f"Round {info.number} closed before the upload began; nothing was uploaded. Round "
        f"{now.number} is the current one: run 'numerpilot download' and 'numerpilot "
        "predict', then submit again."
    )


def check_predicted_round(path: Path, info: RoundInfo) -> None:
    """Refuse predictions that ``predict`` made from another round's live file (its JSON
    sidecar says which); a file without a sidecar is the user's own and is not judged."""
    try:
        sidecar = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    made = sidecar.get("live_round") if isinstance(sidecar, dict) else None
    if isinstance(made, int) and made != info.number:
        raise SubmissionError(
            f"{path.name} was predicted from round {made}'s live data but round {info.number} "
            "is open: run 'numerpilot download' and 'numerpilot predict' first."
        )


class SignalFileNotReadyError(SubmissionError):
    """The ``[submission] signal_file`` is missing, or still the file of an earlier round:
    the job that writes it has not run for this round (yet)."""


#: Server seconds a signal file may predate its round's open and still count as its own:
#: a job started a little before the open, and the file's time is this machine's clock
#: while the open is the server's (clocks a little apart).
OPEN_SLACK_SECONDS = 120.0


def check_not_stale(
    ledger: Ledger,
    tournament: str,
    path: Path,
    info: RoundInfo,
    folder: Path | None = None,
    *,
    now: datetime | None = None,
    rate: float = 1.0,
) -> None:
    """Refuse a ``[submission] signal_file`` that is missing, has not changed since a
    previous round's submission, was written before ``info``'s round opened, or before an
    earlier round's universe reached ``folder`` (the dataset folder): the job that writes it
    has not run for this round. ``now``/``rate``: the server's clock and how much faster it
    runs than this machine's (default: ``info.now``, real time)."""
    if not path.exists():
        raise SignalFileNotReadyError(
            f"{path} ([submission] signal_file) does not exist: the job that writes your "
            "signal has not run yet."
        )
    digest = sha256_file(path)
    for row in ledger.history(limit=50):
        if row.tournament == tournament and row.round < info.number and row.sha256 == digest:
            raise SignalFileNotReadyError(
                f"{path.name} ([submission] signal_file) is the file already submitted in "
                f"round {row.round}: the job that writes your signal has not run for round "
                f"{info.number}; the daemon submits the file once it changes."
            )
    written = path.stat().st_mtime
    _check_written_after_open(path, written, info, now or info.now, rate)
    earlier = _earlier_universe(folder, tournament, info.number) if folder else None
    if earlier is not None and written < earlier[1].stat().st_mtime:
        raise SignalFileNotReadyError(
            f"{path.name} ([submission] signal_file) was last written at "
            f"{datetime.fromtimestamp(written, UTC):%a %H:%M:%S} UTC, before round {earlier[0]}'s "
            f"universe arrived here: it is an earlier round's file, not round {info.number}'s "
            "(the job that writes your signal has not run); the daemon submits the file once it "
            "changes (if it is this round's, touch it)."
        )


def _check_written_after_open(
    path: Path, written: float, info: RoundInfo, now: datetime, rate: float
) -> None:
    """Refuse a file last written (``written``: this machine's clock) before ``info``'s
    round opened (the server's clock ``now`` runs ``rate`` times as fast as this one's)."""
    rate = max(rate, 1e-9)
    opened_here = time.time() - (now - info.open_time).total_seconds() / rate  # this clock
    gap = (opened_here - written) * rate  # server seconds from the write to the open
    if gap <= OPEN_SLACK_SECONDS:
        return
    then = info.open_time - timedelta(seconds=gap)
    raise SignalFileNotReadyError(
        f"{path.name} ([submission] signal_file) was last written {span(gap)} before round "
        f"{info.number} opened (at {then:%a %H:%M:%S} UTC on the server's clock; its file time "
        f"is read on this machine's clock): it is an earlier round's file, never submitted "
        f"(the daemon was not running, or that round closed first), not round {info.number}'s. "
        f"Run the job that writes it for round {info.number}'s universe; the daemon submits "
        f"the file as soon as it changes (if it is round {info.number}'s after all, e.g. a copy "
        f"that kept another machine's time (rsync -t, cp -p): touch {path})."
    )


def _earlier_universe(folder: Path, tournament: str, number: int) -> tuple[int, Path] | None:
    """The newest live universe of a round before ``number`` kept in ``folder`` by the
    download (``live_universe_round<N>.parquet``), with its round: its time is when that
    round's universe reached this machine (this machine's clock, as a file's is)."""
    stem, _, suffix = LAYOUTS[tournament].live.partition(".")
    pattern = re.compile(rf"{re.escape(stem)}_round(\d+)\.{re.escape(suffix)}")
    kept = [(int(m[1]), p) for p in folder.glob(f"{stem}_round*")
            if (m := pattern.fullmatch(p.name)) and int(m[1]) < number]  # fmt: skip
    return max(kept) if kept else None
