"""The Signals and Crypto files kept under ``submissions/``: each one sent (or maybe sent)
is copied there, since ``predictions/`` is overwritten every round and the next round's
churn is measured against the last ones (else against the files Numerai holds)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from numerpilot.api.client import NumeraiClient, SubmissionInfo
from numerpilot.api.rounds import RoundInfo
from numerpilot.io import write_bytes_atomic
from numerpilot.submission.ledger import Ledger
from numerpilot.submission.once import Target
from numerpilot.submission.rules import upload_suffix
from numerpilot.submission.rules.churn import PREVIOUS_SUBMISSIONS
from numerpilot.workdir import Workdir

#: Where Signals/Crypto files are kept once submitted (the next round's churn needs them).
SUBMISSIONS_DIR = "submissions"


#: The most characters of the user's file name a copy keeps (a file system allows 255).
_STEM = 80


def keep_copy(
    workdir: Workdir, ledger: Ledger, path: Path, info: RoundInfo, digest: str
) -> tuple[Path, bool]:
    """A copy of a Signals/Crypto file under ``submissions/``, and whether it is new (no
    ledger row names it: a copy left by a process killed before its upload is): the next
    round's churn is measured against it (``predictions/`` is overwritten every round).
    It is the file uploaded, so its name ends in the suffix Numerai reads its format by
    (``.csv`` or ``.parquet``, whatever the user's file is called), its stem cut short."""
    name = f"round{info.number}-{digest[:12]}-{path.stem[:_STEM]}{upload_suffix(path)}"
    dest = workdir.root / SUBMISSIONS_DIR / name
    if _named(ledger, dest) and dest.exists():
        return dest, False
    dest.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(dest, path.read_bytes())
    return dest, True


def previous_files(
    workdir: Workdir, ledger: Ledger, client: NumeraiClient, t: Target
) -> dict[int, Path]:
    """The model's submission files of its last rounds before ``t.round`` (at most
    ``PREVIOUS_SUBMISSIONS``): the copies the ledger names, else (with API keys) the files
    Numerai holds, downloaded once into ``submissions/numerai/``."""
    files = {
        row.round: Path(row.path)
        for row in ledger.submitted_before(
            t.tournament, t.model_id, t.round.number, PREVIOUS_SUBMISSIONS
        )
        if row.path and Path(row.path).exists()
    }
    if len(files) < PREVIOUS_SUBMISSIONS and client.has_credentials:
        latest = _latest_per_round(client.submissions(t.model_id), t.round.number)
        for number in sorted(latest, reverse=True)[:PREVIOUS_SUBMISSIONS]:
            if number in files:
                continue
            sub = latest[number]
            suffix = Path(sub.filename).suffix or ".csv"
            dest = workdir.root / SUBMISSIONS_DIR / "numerai" / f"{sub.id}{suffix}"
            files[number] = dest if dest.exists() else client.download_submission(sub.id, dest)
    return {n: files[n] for n in sorted(files, reverse=True)[:PREVIOUS_SUBMISSIONS]}


def _latest_per_round(subs: list[SubmissionInfo], before: int) -> dict[int, SubmissionInfo]:
    """The newest submission of each round before ``before`` (the one Numerai scores)."""
    oldest = datetime.min.replace(tzinfo=UTC)
    latest: dict[int, SubmissionInfo] = {}
    for sub in sorted(subs, key=lambda s: s.inserted_at or oldest):  # stable: later wins
        if sub.round is not None and sub.round < before:
            latest[sub.round] = sub
    return latest


def drop_unsent(ledger: Ledger, kept: Path, new: bool) -> None:
    """Remove a copy under ``submissions/`` made for this call that no upload sent (or may
    have sent): ``submissions/`` holds what was submitted."""
    if new and not _named(ledger, kept):
        kept.unlink(missing_ok=True)


def _named(ledger: Ledger, kept: Path) -> bool:
    """Whether a ledger row names ``kept`` as a file it sent or may have sent."""
    rows = ledger.history(limit=100)  # newest rounds first: ``kept``'s round among them
    sent = [
        Path(r.path).resolve() for r in rows if r.path and r.state in ("submitted", "uploading")
    ]
    return kept.resolve() in sent
