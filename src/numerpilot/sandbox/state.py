"""What the sandbox remembers: the account and its models, uploads, submissions, scores.

All methods are thread-safe (the server answers requests concurrently). Submissions keep
the exact bytes received; when a round resolves, Classic submissions are scored on the
round's hidden live targets with numerpilot's per-era CORR and MMC (numerai-tools'
definitions), against a hidden meta model.
"""

from __future__ import annotations

import hashlib
import io
import math
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from numerpilot.errors import SubmissionError
from numerpilot.sandbox.data import LiveTruth, SandboxData
from numerpilot.sandbox.rounds import CLASSIC, CRYPTO, SIGNALS, RoundConfig, round_config
from numerpilot.sandbox.schedule import (
    IrregularSchedule,
    RoundWindow,
    SandboxClock,
    Schedule,
    WeeklySchedule,
)
from numerpilot.sandbox.tickers import SPECS, TickerData, TickerTruth
from numerpilot.scoring import per_era_corr, per_era_mmc
from numerpilot.submission.rules import CHECKS, ID_COLUMNS, classic

TOURNAMENTS = {CLASSIC: "classic", SIGNALS: "signals", CRYPTO: "crypto"}

#: The ``/sandbox/...`` routes that make a round irregular (:meth:`SandboxState.change_schedule`).
CHANGES = ("skip", "delay", "staking")

#: Keys the sandbox accepts by default: public test values, never real credentials.
DEMO_PUBLIC_ID = "SANDBOXPUBLICID0000000000000000"
DEMO_SECRET_KEY = "SANDBOXSECRETKEY000000000000000000000000000000000000000000000000"

DEFAULT_MODELS = (
    ("sandbox_model", CLASSIC),
    ("sandbox_model_2", CLASSIC),
    ("sandbox_signals", SIGNALS),
    ("sandbox_crypto", CRYPTO),
)
#: NMR staked on each sandbox model (read-only: numerpilot never changes a stake).
DEFAULT_STAKES = {"sandbox_model": "25.00", "sandbox_signals": "10.00"}


class SandboxError(Exception):
    """A GraphQL error the sandbox answers with (message as the real API would phrase it)."""

    def __init__(self, message: str, code: str = "BAD_REQUEST") -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Model:
    id: str
    name: str
    tournament: int
    stake: str | None = None
    #: set once a model-upload pickle was uploaded: Numerai runs it, API submissions stop
    pickle_id: str | None = None


@dataclass
class Submission:
    """One accepted submission with the exact bytes received."""

    id: str
    model_id: str
    model_name: str
    tournament: int
    round: int
    filename: str
    sha256: str
    received_at: datetime
    data: bytes = field(repr=False)
    late: bool = False
    scores: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        return {
            "id": self.id,
            "model": self.model_name,
            "tournament": TOURNAMENTS[self.tournament],
            "round": self.round,
            "filename": self.filename,
            "bytes": len(self.data),
            "sha256": self.sha256,
            "received_at": self.received_at.isoformat(),
            "late": self.late,
            "scores": dict(self.scores),
        }


@dataclass(frozen=True)
class PickleUpload:
    id: str
    model_id: str
    filename: str
    sha256: str
    size: int
    data_version: str | None
    docker_image: str | None


class SandboxState:
    """The in-memory account, uploads and submissions of one sandbox server."""

    def __init__(
        self,
        data: SandboxData,
        clock: SandboxClock,
        public_id: str = DEMO_PUBLIC_ID,
        secret_key: str = DEMO_SECRET_KEY,
        models: tuple[tuple[str, int], ...] = DEFAULT_MODELS,
        schedule: Schedule | None = None,
    ) -> None:
        self.data = data
        #: Signals and Crypto data, by tournament id
        self.tickers = {
            tid: TickerData(data.root, SPECS[name])
            for tid, name in TOURNAMENTS.items()
            if name in SPECS
        }
        self.clock = clock
        #: the regular schedule, with the irregular days the ``/sandbox/...`` routes add
        self.schedule = IrregularSchedule(schedule or WeeklySchedule(), clock)
        self._token = f"Token {public_id}${secret_key}"
        self.public_id = public_id
        self.models = [
            Model(str(uuid.uuid5(uuid.NAMESPACE_URL, n)), n, t, DEFAULT_STAKES.get(n))
            for n, t in models
        ]
        self._uploads: dict[str, bytes] = {}
        self._slots: set[str] = set()
        self.submissions: list[Submission] = []
        self.pickles: list[PickleUpload] = []
        self.resolved: set[int] = set()
        self.requests: list[str] = []
        self._lock = threading.RLock()

    # -- auth, rounds --------------------------------------------------------------------
    def authenticate(self, header: str | None) -> None:
        if header is None:
            raise SandboxError(
                "You must be authenticated to perform this action.", "UNAUTHENTICATED"
            )
        if header != self._token:
            raise SandboxError("Your API key is invalid or has expired.", "UNAUTHENTICATED")

    def current(self) -> RoundWindow:
        return self.schedule.current(self.clock.now())

    def window(self, number: int) -> RoundWindow:
        return self.schedule.window(number)

    def change_schedule(self, change: str, number: str | None, seconds: str | None) -> int:
        """Make round ``number`` (default: the next) irregular (one of :data:`CHANGES`);
        ``seconds`` on the sandbox clock. Returns the round's number; ValueError (with what
        to give instead) for a change the schedule refuses or a value that is no number."""
        wanted = _whole("round", number) if number else None
        if change == "skip":
            return self.schedule.skip(wanted)
        if seconds is None:
            raise ValueError(f"/sandbox/{change} needs ?seconds=S (sandbox clock seconds).")
        value = _finite("seconds", seconds)
        if change == "delay":
            return self.schedule.delay(value, wanted)
        return self.schedule.staking(value, wanted)

    def config(self, number: int, tournament: int = CLASSIC) -> RoundConfig:
        return round_config(number, tournament)

    def model(self, model_id: str | None, tournament: int | None = None) -> Model:
        for m in self.models:
            if m.id == model_id and (tournament is None or m.tournament == tournament):
                return m
        raise SandboxError(f"Model {model_id} not found in this account's models.", "NOT_FOUND")

    # -- uploads -----------------------------------------------------------------------
    def new_upload_key(self, filename: str) -> str:
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in filename)[-100:]
        key = f"{uuid.uuid4().hex}/{safe or 'upload'}"
        with self._lock:
            self._slots.add(key)
        return key

    def put_upload(self, key: str, body: bytes) -> bool:
        """Store a presigned PUT; False when no upload was authorised under that key."""
        with self._lock:
            if key not in self._slots:
                return False
            self._uploads[key] = body
            return True

    def _take_upload(self, key: str) -> bytes:
        with self._lock:
            if key not in self._uploads:
                raise SandboxError(f"No uploaded file named {key}: PUT the file first.")
            return self._uploads.pop(key)

    def create_submission(self, key: str, tournament: int, model_id: str | None) -> Submission:
        model = self.model(model_id, tournament)
        if model.pickle_id is not None:
            raise SandboxError(
                f"Model {model.name} runs from an uploaded pickle (model upload): submissions "
                "through the API are disabled for it.",
                "FORBIDDEN",
            )
        now = self.clock.now()
        window = self.current()
        if not window.is_open(now):
            raise SandboxError("Current round not open for submissions.", "ROUND_CLOSED")
        body = self._take_upload(key)
        if tournament == CLASSIC:
            _check_classic(body, key, self.data.truth(window.number).ids)
        else:
            _check_tickers(body, key, tournament, self.tickers[tournament].universe(window.number))
        sub = Submission(
            id=str(uuid.uuid4()),
            model_id=model.id,
            model_name=model.name,
            tournament=tournament,
            round=window.number,
            filename=key,
            sha256=hashlib.sha256(body).hexdigest(),
            received_at=now,
            data=body,
            late=window.is_late(now),
        )
        with self._lock:
            self.submissions.append(sub)
        return sub

    def create_pickle(
        self, key: str, model_id: str | None, data_version: str | None, docker_image: str | None
    ) -> PickleUpload:
        model = self.model(model_id)
        body = self._take_upload(key)
        upload = PickleUpload(
            str(uuid.uuid4()),
            model.id,
            key,
            hashlib.sha256(body).hexdigest(),
            len(body),
            data_version,
            docker_image,
        )
        with self._lock:
            self.pickles.append(upload)
            model.pickle_id = upload.id
        return upload

    # -- resolution and scores ------------------------------------------------------------
    def resolve_due(self) -> list[int]:
        """Score every round whose resolve time has passed on the sandbox clock."""
        now = self.clock.now()
        with self._lock:
            rounds = {s.round for s in self.submissions} - self.resolved
        done = [r for r in sorted(rounds) if self.window(r).resolve_time <= now]
        for number in done:
            self.resolve(number)
        return done

    def resolve(self, number: int) -> None:
        """Score the round's latest submission per model on the round's hidden targets."""
        with self._lock:
            latest: dict[str, Submission] = {}
            for sub in self.submissions:
                if sub.round == number:
                    latest[sub.model_id] = sub
            for sub in latest.values():
                truth = (self.data.truth(number) if sub.tournament == CLASSIC
                         else self.tickers[sub.tournament].truth(number))  # fmt: skip
                sub.scores = _score(sub.data, sub.filename, truth)
            self.resolved.add(number)

    def submission(self, submission_id: str) -> Submission:
        """A submission by id (any model of the account)."""
        with self._lock:
            for sub in self.submissions:
                if sub.id == submission_id:
                    return sub
        raise SandboxError(f"Submission {submission_id} not found.", "NOT_FOUND")

    def model_submissions(self, model_id: str) -> list[Submission]:
        """Every submission of a model, oldest first."""
        with self._lock:
            return [s for s in self.submissions if s.model_id == model_id]

    def latest_submissions(self, model_id: str) -> list[Submission]:
        with self._lock:
            latest: dict[int, Submission] = {}
            for sub in self.submissions:
                if sub.model_id == model_id:
                    latest[sub.round] = sub
            return [latest[r] for r in sorted(latest)]

    def received(self) -> list[dict[str, object]]:
        with self._lock:
            return [s.summary() for s in self.submissions]


def _whole(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name}={text!r} is no whole number.") from None


def _finite(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ValueError(f"{name}={text!r} is no finite number of seconds.")
    return value


def _read_predictions(body: bytes, filename: str) -> pd.DataFrame:
    try:
        if filename.endswith(".parquet"):
            frame = pd.read_parquet(io.BytesIO(body))
            return frame.reset_index() if frame.index.name else frame
        return pd.read_csv(io.BytesIO(body), dtype=ID_COLUMNS)  # "0263494" stays text
    except Exception as error:  # any parse failure is the client's problem
        raise SandboxError(f"Could not read the submission file: {error}") from None


def _check_classic(body: bytes, filename: str, live_ids: np.ndarray) -> None:
    """Numerai validates every upload with numerai-tools' rules, as numerpilot does."""
    try:
        classic.check(_read_predictions(body, filename), pd.Series(live_ids))
    except SubmissionError as error:
        raise SandboxError(str(error), "INVALID_SUBMISSION") from None


def _check_tickers(body: bytes, filename: str, tournament: int, universe: pd.DataFrame) -> None:
    """Signals and Crypto uploads are validated by numerai-tools' rules too."""
    try:
        CHECKS[TOURNAMENTS[tournament]](_read_predictions(body, filename), universe)
    except SubmissionError as error:
        raise SandboxError(str(error), "INVALID_SUBMISSION") from None


def _score(body: bytes, filename: str, truth: LiveTruth | TickerTruth) -> dict[str, float]:
    """CORR and MMC of a submission on the round's live ids (missing ids are left out)."""
    frame = _read_predictions(body, filename)
    frame = frame.drop(columns=["data_type", "date", "friday_date"], errors="ignore")
    col = next((c for c in ("prediction", "signal") if c in frame.columns), frame.columns[1])
    preds = frame.set_index(frame[frame.columns[0]].astype(str))[col].astype(float)
    preds = preds[~preds.index.duplicated()]
    aligned = preds.reindex(pd.Index(truth.ids)).to_numpy(dtype=np.float64)
    keep = ~np.isnan(aligned)
    eras = np.zeros(int(keep.sum()), dtype="<U1")
    p = aligned[keep].reshape(-1, 1)
    corr = per_era_corr(p, truth.target[keep], eras).values
    mmc = per_era_mmc(p, truth.meta_model[keep], truth.target[keep], eras).values
    return {
        "v2_corr20": float(corr[0, 0]) if corr.size else float("nan"),
        "mmc": float(mmc[0, 0]) if mmc.size else float("nan"),
    }
