"""Checked submissions: validate, refuse what Numerai would reject, upload once per round.

Order of checks (cheapest and most local first): the file obeys the tournament's rules
against the live ids; the round takes submissions; the live file is this round's; the
model names exist. Then, under the work directory's submit lock, each model is uploaded
exactly once per round (:mod:`numerpilot.submission.once`; ``force`` uploads again). A dry
run makes every check and uploads nothing.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from numerpilot.api.client import NumeraiClient
from numerpilot.api.rounds import RoundInfo
from numerpilot.config import Config
from numerpilot.data import layout
from numerpilot.data.download import download_dataset
from numerpilot.data.local import local_dataset
from numerpilot.data.tournaments import read_universe, read_universe_file
from numerpilot.errors import DataError, SubmissionError, UsageError
from numerpilot.held_warnings import held
from numerpilot.io import sha256_file
from numerpilot.lock import hold
from numerpilot.submission.copies import drop_unsent, keep_copy, previous_files
from numerpilot.submission.ledger import Ledger
from numerpilot.submission.once import (
    SubmitResult,
    Target,
    check_open,
    on_numerai,
    settle_closed,
    submit_once,
)
from numerpilot.submission.round_checks import (
    check_live_round,
    check_predicted_round,
    check_still_open,
)
from numerpilot.submission.rules import check_file, check_no_bom, read_submission, upload_suffix
from numerpilot.submission.rules.churn import (
    IncomparableError,
    Previous,
    max_churn_and_turnover,
)
from numerpilot.submission.rules.universe import log as universe_log
from numerpilot.workdir import Workdir

log = logging.getLogger(__name__)

LOCK_FILE = "state.lock"
#: What to do about a refused Signals/Crypto file.
HINTS = {
    "signals": "Fix the file (README: Signals and Crypto) or re-create it with 'numerpilot "
    "predict'",
    "crypto": "Fix the file (README: Signals and Crypto)",
}
#: How long a submit waits for another process that is submitting in the same work dir.
LOCK_WAIT_SECONDS = 120.0


def _classic_folder(workdir: Workdir, config: Config) -> Path:
    """The dataset folder ``predict`` reads the live file from (not the API's newest
    version, which a model trained on an older one does not use)."""
    root = workdir.data_root(config)
    folder = local_dataset(root, config.data.version)
    if folder is None:
        raise DataError(f"No dataset in {root} to check the predictions against: run "
                        "'numerpilot download' and 'numerpilot predict' first.")  # fmt: skip
    return folder


def _live_ids(folder: Path) -> pd.Series:
    live = folder / layout.LIVE
    if not live.exists():
        raise DataError(f"{live} is missing: run 'numerpilot download'.")
    try:
        table = pq.read_table(live, columns=[layout.ID])
    except Exception as error:  # pyarrow raises several unrelated types on a broken file
        raise DataError(f"{live} is not a readable parquet file ({error}); download it again "
                        "with 'numerpilot download'.") from None  # fmt: skip
    return pd.Series(table.column(layout.ID).to_pylist(), dtype=str)


def model_ids(
    client: NumeraiClient, tournament: str, names: list[str], dry_run: bool
) -> dict[str, str]:
    """The account's model ids of ``names``; refuses a name the account lacks (a dry run
    without keys checks nothing)."""
    if dry_run and not client.has_credentials:
        log.warning("no API keys: model names were not checked against your account")
        return dict.fromkeys(names, "")
    available = client.models()
    unknown = [n for n in names if n not in available]
    if unknown:
        raise SubmissionError(
            f"Unknown {tournament} model(s) {', '.join(unknown)} for these API keys; the "
            f"account has: {', '.join(sorted(available)) or 'no models'}."
            + elsewhere(client, unknown)
        )
    return available


def elsewhere(client: NumeraiClient, unknown: list[str]) -> str:
    """A sentence naming the other tournament of each ``unknown`` model the account has
    there ("" when none, or when Numerai cannot be asked)."""
    return "".join(
        f" {name} is a {where.capitalize()} model: submit it from a work directory whose "
        f'[submission] tournament = "{where}".'
        for name, where in client.other_tournaments(unknown).items()
    )


def submit_predictions(
    workdir: Workdir,
    config: Config,
    client: NumeraiClient,
    predictions_path: Path,
    *,
    models: list[str] | None = None,
    force: bool = False,
    allow_churn: bool = False,
    dry_run: bool = False,
    info: RoundInfo | None = None,
    clock_rate: float = 1.0,
) -> list[SubmitResult]:
    """Check the file and the round, then upload once per model and round (``force``:
    again in a round already submitted; ``allow_churn``: Signals, despite the churn limits).

    ``info``: the round to submit for, as the caller saw it (default: the current round).
    ``clock_rate``: how much faster Numerai's clock runs than this machine's (a sandbox's
    may): ``[submission] unsure_wait_seconds`` counts on Numerai's clock.
    A dry run checks everything it can (also in a round already submitted) and uploads
    nothing: without API keys it skips the model-name check.
    """
    tournament = config.submission.tournament
    names = list(dict.fromkeys(models or config.submission.models))  # each model once
    if not names and not dry_run:
        raise UsageError(
            "No model to submit for: pass --model NAME or list your Numerai model names in "
            "numerpilot.toml under [submission] models = [...]."
        )
    with held(universe_log):  # a file refused says one line: why
        path = Path(predictions_path)
        folder: Path | None = None
        if tournament == "classic":
            folder = _classic_folder(workdir, config)
            check_file(path, tournament, _live_ids(folder))
            _check_suffix(path)
            info = info or client.current_round()
            check_open(info)
        else:  # the universe of the open round: fetched when this folder has another round's
            if Path(path).exists():
                check_no_bom(path)
            read_submission(path)
            info = info or client.current_round()
            check_open(
                info, "predict or write your signal for its live universe then, and submit it"
            )
            check_predicted_round(path, info)
            folder = download_dataset(workdir, config, client, info=info, live_only=True)
            check_file(path, tournament, read_universe(folder, tournament), HINTS[tournament])
        check_live_round(info, folder)
        ids = model_ids(client, tournament, names, dry_run)
        digest = sha256_file(path)
        targets = [Target(tournament, n, ids[n], info, path, digest) for n in names]
        ledger = Ledger(workdir.state_db)
        churn = functools.partial(_churn, workdir, ledger, client, config, folder)
        notes = {t.model_name: churn(t, allow_churn, force) for t in targets}
    if dry_run:
        return [replace(_dry_run(client, ledger, t), note=notes[t.model_name]) for t in targets]
    results: list[SubmitResult] = []
    with hold(workdir.root / LOCK_FILE, wait=LOCK_WAIT_SECONDS, what="submitting"):
        check_still_open(client, info)  # another process may have held the lock past its close
        classic = tournament == "classic"  # Classic's file is kept where it is
        kept, new = (path, False) if classic else keep_copy(workdir, ledger, path, info, digest)
        try:
            for target in targets:
                if sha256_file(path) != digest:
                    raise SubmissionError(f"{path} changed while submitting; run it again.")
                target = replace(target, path=kept, source=path)
                wait = config.submission.unsure_wait_seconds
                result = submit_once(ledger, client, target, force=force, unsure_wait=wait,
                                     clock_rate=clock_rate)  # fmt: skip
                results.append(
                    replace(result, path=str(path), note=notes[target.model_name], unsure_wait=wait)
                )  # the user's file, not its copy
        finally:  # also on a failure or Ctrl-C: the copy is kept only if it was (maybe) sent
            drop_unsent(ledger, kept, new)
    return results


def _check_suffix(path: Path) -> None:
    """Refuse a Classic file whose name does not say its format: it is uploaded as it is,
    and Numerai reads a file as parquet or CSV by its name."""
    suffix = upload_suffix(path)
    if path.suffix != suffix:
        kind = "a parquet" if suffix == ".parquet" else "a CSV"
        raise SubmissionError(
            f"{path.name} is {kind} file, and Numerai reads a file's format by its name: "
            f"rename it to {path.stem}{suffix} and submit that."
        )


def _churn(
    workdir: Workdir,
    ledger: Ledger,
    client: NumeraiClient,
    config: Config,
    folder: Path | None,
    t: Target,
    allow: bool,
    force: bool,
) -> str:
    """Signals: the churn and turnover against the model's previous submissions (the
    ledger's copies or Numerai's files); refused at or above the limits, or when they
    cannot be compared, unless ``allow`` (or nothing would be uploaded: the round is
    submitted and not ``force``d)."""
    if t.tournament != "signals" or folder is None:
        return ""
    universe = read_universe(folder, "signals")
    previous = []
    for number, path in previous_files(workdir, ledger, client, t).items():
        old = folder / f"live_round{number}.parquet"
        then = read_universe_file(old, "signals") if old.exists() else universe
        previous.append(Previous(f"round {number}", read_submission(path), then))
    try:
        figures = max_churn_and_turnover(read_submission(t.path), universe, previous)
    except IncomparableError as error:
        if not allow:
            raise SubmissionError(f"{t.path.name} for {t.model_name}: {error}") from None
        return "churn not measured: a previous submission uses other tickers (--allow-churn)"
    limits = config.submission
    breaches = figures.breaches(limits.max_churn, limits.max_turnover)
    now = ledger.get("signals", t.model_id, t.round.number)
    done = now is not None and now.state == "submitted"  # then it says "already submitted"
    if breaches and not allow and (force or not done):
        raise SubmissionError(
            f"{t.path.name} for {t.model_name}: {', '.join(breaches)} against the previous "
            "submissions: Numerai would set the stake to zero. Submit a steadier signal, raise "
            "[submission] max_churn / max_turnover, or upload it anyway with "
            "'numerpilot submit --allow-churn' (the daemon never does)."
        )
    if not breaches:
        return figures.describe()
    allowed = "; --allow-churn" if allow else ""
    return f"{figures.describe()} (over the limit: {', '.join(breaches)}{allowed})"


def _dry_run(client: NumeraiClient, ledger: Ledger, target: Target) -> SubmitResult:
    """What a real submit would find: the round's submission, or a model Numerai runs from
    an uploaded pickle (a real submit sends it nothing)."""
    existing = on_numerai(client, target.model_id, target.round) if client.has_credentials else None
    said = [f"already submitted ({existing.id})"] if existing else []
    if ledger.model_upload(target.tournament, target.model_id):
        said.append("Numerai runs this model from an uploaded pickle: a submit sends it nothing")
    return target.result("dry_run", existing.id if existing else None, "; ".join(said))


#: The most rounds fetched to settle old rows left ``uploading`` (about 40 weeks).
SETTLE_ROUNDS = 200


def settle_uploading(
    workdir: Workdir, ledger: Ledger, client: NumeraiClient, config: Config,
    rounds: list[RoundInfo], now: datetime,
) -> None:  # fmt: skip
    """Rows of closed rounds left ``uploading`` get Numerai's answer (under the submit
    lock), also rows of rounds older than ``rounds`` (newest first): a daemon that was down
    for weeks fetches as many rounds as it needs, up to :data:`SETTLE_ROUNDS`."""
    tournament = config.submission.tournament
    pending = set(ledger.unsettled_rounds(tournament))
    if not pending:
        return
    if min(pending) < rounds[-1].number:
        span = min(SETTLE_ROUNDS, rounds[0].number - min(pending) + 1)
        rounds = client.rounds(limit=span)
    closed = [r for r in rounds if r.close_time <= now and r.number in pending]
    if not closed:
        return
    with hold(workdir.root / LOCK_FILE, wait=LOCK_WAIT_SECONDS, what="submitting"):
        for info in closed:
            settle_closed(ledger, client, tournament, info)
