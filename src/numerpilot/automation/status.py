"""``numerpilot status``: per model and round, what happened and what it scored.

Numerai is the source of truth for what was submitted (``submissions``); the ledger adds
what numerpilot tried and why it failed. A round is *submitted* (or *late*, after the
staking close), *due* while open, *failed* when numerpilot's attempt failed, *skipped*
for a model run from an uploaded pickle, and *missed* when it closed without any.
Stakes and payouts are read only: numerpilot never changes a stake.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from numerpilot.api.client import NumeraiClient, SubmissionInfo
from numerpilot.api.errors import NumeraiAPIError
from numerpilot.api.rounds import RoundInfo
from numerpilot.automation.payouts import configured_note, payout_estimate
from numerpilot.config import Config, ScoringConfig
from numerpilot.submission.ledger import Ledger, LedgerRow
from numerpilot.submission.once import is_unsure
from numerpilot.workdir import Workdir

log = logging.getLogger(__name__)

#: Numerai's names (``displayName``, exactly) of the scores ``status`` shows where the
#: round's payout settings name none it lists, the first a round has winning: the 20-day
#: CORR and MMC, never one of their kin (``corr60``, ``corr_w_meta_model``, ``mmc60``,
#: ``canon_mmc60``, ...), whose names contain theirs.
SCORE_NAMES = {"corr": ("v2_corr20", "canon_corr", "corr20", "corr"), "mmc": ("mmc", "canon_mmc")}


@dataclass(frozen=True)
class RoundStatus:
    """One model in one round."""

    round: int
    state: str
    submission_id: str | None = None
    corr: float | None = None
    mmc: float | None = None
    payout: float | None = None
    error: str | None = None


@dataclass
class ModelStatus:
    """One model: its stake, payouts and recent rounds (newest first)."""

    name: str
    model_id: str | None
    stake: float | None = None
    pending_payout: float | None = None
    paid: float | None = None
    rounds: list[RoundStatus] = field(default_factory=list)


@dataclass(frozen=True)
class StatusReport:
    current: RoundInfo
    models: list[ModelStatus]
    notes: tuple[str, ...] = ()

    def failures(self) -> list[str]:
        """Why failed rounds failed, as the ledger recorded it: one line per reason, naming
        its rounds and models (after a week of the same fault, not one line per model and
        round repeating it). Models that failed the same rounds for it share the line."""
        models_by: dict[tuple[str, tuple[int, ...]], list[str]] = {}
        for m in self.models:
            by_error: dict[str, list[int]] = {}
            for r in m.rounds:
                if r.state == "failed" and r.error:
                    by_error.setdefault(r.error, []).append(r.round)
            for error, numbers in by_error.items():
                models_by.setdefault((error, tuple(sorted(numbers))), []).append(m.name)
        return [f"{_rounds_text(numbers)} ({', '.join(names)}): {error}"
                for (error, numbers), names in models_by.items()]  # fmt: skip


def _rounds_text(numbers: tuple[int, ...]) -> str:
    """``round 5``, ``rounds 3, 4``, and runs of three or more as ``rounds 600 to 609, 612``."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    parts = [f"{r[0]} to {r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs]
    return ("round " if len(numbers) == 1 else "rounds ") + ", ".join(parts)


def round_state(
    info: RoundInfo, sub: SubmissionInfo | None, row: LedgerRow | None, listed: bool = True
) -> str:
    """The state of a model in a round from Numerai's submission and the ledger row
    (``listed``: whether Numerai's submissions were asked for; without keys, the ledger's
    ``submitted`` stands)."""
    if sub is not None:
        late = row.late if row is not None and row.submission_id == sub.id else None
        at = sub.inserted_at  # Numerai's word, unless it ties the close to the second
        if at is not None and (late is None or at != info.close_staking_time):
            late = at >= info.close_staking_time
        return "late" if late else "submitted"
    if not listed and row is not None and row.state == "submitted":
        return "late" if row.late else "submitted"
    if row is not None and row.state == "skipped":
        return "skipped"
    if info.is_open and row is not None and is_unsure(row):
        return "unsure"
    if info.is_open:
        return "failed" if row is not None and row.state == "failed" else "due"
    return "failed" if row is not None and row.state in ("failed", "uploading") else "missed"


def round_scores(entries: Iterable[Mapping[str, Any]]) -> dict[int, dict[str, float]]:
    """Every score per round from Numerai's ``submissionScores``, by its name in lower case:
    the latest day's where a score is listed per day; a value that is not a finite number
    is left out (shown as none, never as ``nan``)."""
    latest: dict[tuple[int, str], tuple[float, float]] = {}
    for entry in entries:
        number, value = entry.get("roundNumber"), entry.get("value")
        name = str(entry.get("displayName") or "").lower()
        if number is None or not _is_number(value) or not math.isfinite(value):
            continue
        day = entry.get("day")
        when = float(day) if _is_number(day) else -1.0
        slot = (int(number), name)
        if slot not in latest or when >= latest[slot][0]:
            latest[slot] = (when, float(value))
    out: dict[int, dict[str, float]] = {}
    for (number, name), (_, value) in latest.items():
        out.setdefault(number, {})[name] = value
    return out


def still_scoring(
    entries: Iterable[Mapping[str, Any]], shown: Mapping[int, Collection[str]]
) -> set[int]:
    """The rounds whose shown scores Numerai is still scoring (``shown``: per round, the
    lower-case names :func:`shown_names` picked): one of them says ``resolved: false`` on
    its latest day, whatever the order of the entries. Other scores (``corr60``, ``mmc60``)
    resolve later and do not count."""
    latest: dict[tuple[int, str], tuple[float, bool]] = {}
    for entry in entries:
        number, day = entry.get("roundNumber"), entry.get("day")
        name = str(entry.get("displayName") or "").lower()
        if not _is_number(number) or name not in shown.get(int(number), ()):
            continue
        when, scoring = (float(day) if _is_number(day) else -1.0), entry.get("resolved") is False
        before = latest.get((int(number), name))
        if before is None or when > before[0]:
            latest[(int(number), name)] = (when, scoring)
        elif when == before[0]:  # the same day listed twice: unresolved if either says so
            latest[(int(number), name)] = (when, scoring or before[1])
    return {number for (number, _), (_, scoring) in latest.items() if scoring}


def provisional_note(numbers: set[int]) -> str:
    """Which rounds' CORR, MMC and payout estimate are not final yet."""
    it, its = ("it", "its") if len(numbers) == 1 else ("them", "their")
    return (
        f"{_rounds_text(tuple(sorted(numbers)))}: Numerai is still scoring {it}; {its} CORR, "
        "MMC and payout estimate are the latest day's, not final (a round resolves about a "
        "month after it closes)"
    )


def shown_names(named: Collection[str], info: RoundInfo) -> dict[str, str]:
    """The names of a round's CORR and MMC (``corr``/``mmc`` -> name): the scores its payout
    settings name (Numerai's ``roundScoreConfigs``, whose multipliers the payout estimate
    uses) where the round lists them, else the first of :data:`SCORE_NAMES` it lists."""
    out: dict[str, str] = {}
    for key, names in SCORE_NAMES.items():
        paid = [c.name.lower() for c in info.scores if c.is_payout and key in c.name.lower()]
        found = next((n for n in (*paid, *names) if n in named), None)
        if found is not None:
            out[key] = found
    return out


def shown_scores(named: Mapping[str, float], info: RoundInfo) -> dict[str, float]:
    """A round's CORR and MMC, by the names :func:`shown_names` picks."""
    return {key: named[name] for key, name in shown_names(named, info).items()}


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _money(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def collect(
    client: NumeraiClient,
    ledger: Ledger,
    tournament: str,
    names: list[str],
    scoring: ScoringConfig,
    n_rounds: int = 10,
    main_target: str | None = None,
    *,
    alias: bool = True,
) -> StatusReport:
    """Everything ``status`` shows: rounds from the API, per model what Numerai holds, the
    ledger's attempts, scores, stakes and payouts (the last two need keys). ``main_target``:
    the named target the models' ensemble weights were fitted against (``alias``: as the
    data's ``target``, see :func:`numerpilot.data.catalog.main_target_alias`; else as
    ``train.main_target``), for a note when the current round is scored on another."""
    rounds = client.rounds(limit=n_rounds)
    notes: list[str] = []
    target = target_note(rounds[0], main_target, alias=alias)
    if target:
        notes.append(target)
    ids: dict[str, str] = {}
    if client.has_credentials:
        account = client.models()
        ids = {n: account[n] for n in (names or sorted(account)) if n in account}
        notes += unknown_notes(client, [n for n in names if n not in account], tournament)
    else:
        notes.append(
            "no API keys: Numerai's list of submissions and the payouts are not "
            "shown; the states come from numerpilot's ledger"
        )
        ids = {row.model_name: row.model_id for row in ledger.history(1000)}
    payouts = _payouts(client) if client.has_credentials else {}
    models = []
    provisional: set[int] = set()
    for name in names or sorted(ids):
        model_id = ids.get(name)
        status = ModelStatus(name, model_id)
        if model_id is None:
            models.append(status)
            if not client.has_credentials:  # else: "not a model of this account", above
                notes.append(_unknown_note(name))
            continue
        subs = {s.round: s for s in client.submissions(model_id)} if client.has_credentials else {}
        listed = client.submission_scores(model_id)
        scores = round_scores(listed)
        shown: dict[int, set[str]] = {}
        for info in rounds:
            row = ledger.get(tournament, model_id, info.number)
            named = scores.get(info.number, {})
            shown[info.number] = set(shown_names(named, info).values())
            got = shown_scores(named, info)
            corr, mmc = got.get("corr"), got.get("mmc")
            state = round_state(info, subs.get(info.number), row, client.has_credentials)
            staked = state == "submitted"  # a late submission is scored, not paid
            own = None if tournament == "classic" else named  # paid on the round's scores
            payout = payout_estimate(info, corr, mmc, scoring, own) if staked else None
            status.rounds.append(RoundStatus(
                info.number, state, subs[info.number].id if info.number in subs else None,
                corr, mmc, payout, row.last_error if row else None,
            ))  # fmt: skip
            classic = tournament == "classic" and payout is not None
            note = configured_note(info) if classic else None
            if note and note not in notes:
                notes.append(note)
        provisional |= still_scoring(listed, shown)
        status.stake = _stake(client, name)
        status.pending_payout, status.paid = payouts.get(model_id, (None, None))
        models.append(status)
    if provisional:
        notes.append(provisional_note(provisional))
    if not models:  # two empty tables would say nothing of why
        keys = "" if client.has_credentials else ", or set API keys to list the account's"
        notes.append("no model to show: list your Numerai model names in numerpilot.toml "
                     f"under [submission] models = [...]{keys}")  # fmt: skip
    return StatusReport(rounds[0], models, tuple(notes))


def unknown_notes(client: NumeraiClient, unknown: list[str], tournament: str) -> list[str]:
    """Why a configured model has no rows: it is another tournament's model of the account
    (status shows one tournament's: say where to see it), or none of the account's."""
    theirs = client.other_tournaments(unknown) if unknown else {}
    return [
        f"{name} is a {theirs[name]} model of this account, not a {tournament} one: status "
        f"shows the {tournament} models ([submission] tournament); run it in a work "
        f'directory whose [submission] tournament = "{theirs[name]}" to see it'
        if name in theirs
        else f"{name} is not a {tournament} model of this account"
        for name in unknown
    ]


def target_note(info: RoundInfo, main_target: str | None, *, alias: bool = True) -> str | None:
    """A note when round ``info`` is scored on another target than ``main_target``, the
    one the models' ensemble weights were fitted against (``alias``: the data's ``target``
    is that one; None: not known, or the same)."""
    if not main_target or not info.target or info.target == main_target:
        return None
    against = (f"the data's main target ('target', which is {main_target} in that data "
               f"version)" if alias else f"train.main_target ({main_target})")  # fmt: skip
    return (
        f"round {info.number} is scored on {info.target}, but the ensemble weights of the "
        f"models in use were fitted against {against}: validate's CORR is against that one, "
        f'not the round\'s; set train.main_target = "{info.target}" and retrain to weight '
        "them for the round's target"
    )


def weighted_target(wd: Workdir, config: Config) -> tuple[str | None, bool]:
    """The named target that the Classic models in use were weighted against (None when
    there are none, or their data does not tell), and whether as the data's ``target``."""
    from numerpilot.data import layout
    from numerpilot.data.catalog import main_target_alias
    from numerpilot.errors import NumerpilotError
    from numerpilot.modeling.manifest import load_manifest

    if config.submission.tournament != "classic":
        return None, True
    try:
        manifest = load_manifest(wd.models)
    except (NumerpilotError, OSError):
        return None, True
    if manifest.ensemble_holdout is None:  # weights given, or one member: none were fitted
        return None, True
    if manifest.main_target != layout.MAIN_TARGET:
        return manifest.main_target, False
    return main_target_alias(wd.data_root(config) / manifest.data_version), True


def _unknown_note(name: str) -> str:
    """Why a configured model has no rounds without API keys: numerpilot's ledger has
    never recorded it, so its Numerai id (which the ledger is keyed by) is not known."""
    return (
        f"{name}: numerpilot's ledger has no submission of it, and without API keys its "
        "rounds cannot be asked of Numerai; set NUMERAI_PUBLIC_ID and NUMERAI_SECRET_KEY "
        "(or credentials.json) to see them"
    )


def _stake(client: NumeraiClient, name: str) -> float | None:
    try:
        return _money(client.api.stake_get(name))
    except (NumeraiAPIError, KeyError, TypeError):
        return None


def _payouts(client: NumeraiClient) -> dict[str, tuple[float, float]]:
    """model id -> (pending NMR, paid NMR), read only."""
    try:
        raw = client.api.pending_model_payouts()
    except (NumeraiAPIError, KeyError, TypeError) as error:
        log.info("payouts unavailable: %s", error)
        return {}
    out: dict[str, tuple[float, float]] = {}
    for kind, index in (("pending", 0), ("actual", 1)):
        for item in raw.get(kind) or []:
            pending, paid = out.get(str(item.get("modelId")), (0.0, 0.0))
            value = _money(item.get("payoutNmr")) or 0.0
            out[str(item.get("modelId"))] = (
                (pending + value, paid) if index == 0 else (pending, paid + value)
            )
    return out
