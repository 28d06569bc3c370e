"""``NumeraiClient``: numerapi (Classic, Signals, Crypto) with the sharp edges removed.

numerapi stays the source of truth for the queries; numerpilot replaces its transport
(:mod:`numerpilot.api.transport`). Uploads check the PUT status before the create
mutation, and the create mutation is never resent blindly: when its answer is lost the
error says so (``uncertain``), and the caller reconciles with :meth:`NumeraiClient.submissions`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from numerpilot.api.errors import NumeraiAPIError
from numerpilot.api.http import Http, RetryPolicy
from numerpilot.api.rounds import ROUND_FIELDS, RoundInfo, as_float, parse_round, parse_time
from numerpilot.api.transport import CLASSES
from numerpilot.credentials import Credentials
from numerpilot.data.layout import version_key
from numerpilot.data.tournaments import LAYOUTS
from numerpilot.errors import UsageError
from numerpilot.progress import SILENT, Progress

log = logging.getLogger(__name__)

TOURNAMENT_IDS = {"classic": 8, "signals": 11, "crypto": 12}


@dataclass(frozen=True)
class SubmissionInfo:
    """One of a model's submissions as Numerai lists them."""

    id: str
    filename: str
    inserted_at: datetime | None
    round: int | None


class NumeraiClient:
    """The Numerai API for one tournament, through numerapi, with timeouts and retries."""

    def __init__(
        self,
        credentials: Credentials | None,
        base_url: str,
        tournament: str = "classic",
        *,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 1.0,
    ) -> None:
        if tournament not in TOURNAMENT_IDS:
            raise UsageError(f"Unknown tournament {tournament!r}: use classic, signals or crypto.")
        self.tournament = tournament
        self.tournament_id = TOURNAMENT_IDS[tournament]
        self.base_url = base_url
        self.http = Http(timeout, RetryPolicy(retries=retries, backoff=backoff))
        self.credentials = credentials
        token = (credentials.public_id, credentials.secret_key) if credentials else None
        self.api: Any = CLASSES[tournament](self.http, self.base_url, token, self.tournament_id)

    def __repr__(self) -> str:
        return f"NumeraiClient(tournament={self.tournament!r}, base_url={self.base_url!r})"

    @property
    def has_credentials(self) -> bool:
        return self.api.token is not None

    def query(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        authorization: bool = False,
        *,
        idempotent: bool = True,
    ) -> dict[str, Any]:
        """Any GraphQL operation; returns the ``data`` object (mutations: idempotent=False)."""
        try:
            data: dict[str, Any] = self.api.raw_query(
                query, variables, authorization, idempotent=idempotent
            )["data"]
        except NumeraiAPIError as error:
            if self.credentials is None:
                raise
            raise NumeraiAPIError(
                self.credentials.redact(str(error)),
                auth=error.auth,
                retryable=error.retryable,
                uncertain=error.uncertain,
                answered=error.answered,
            ) from None
        return data

    # -- the server's clock and rounds ----------------------------------------------------
    def server_now(self) -> datetime:
        """The server's clock: its last ``Date`` header plus the time since (local clock only
        before the first answer)."""
        seen = self.api.server_time
        if seen is None:
            return datetime.now(UTC)
        elapsed = timedelta(seconds=time.monotonic() - self.api.received_at)
        return datetime.fromtimestamp(seen.timestamp(), UTC) + elapsed

    def rounds(self, limit: int = 1) -> list[RoundInfo]:
        """The current round (``limit`` 1) or the most recent rounds, newest first."""
        args: dict[str, Any] = {"tournament": self.tournament_id}
        if limit == 1:
            args["number"] = 0
        else:
            args["limit"] = limit
        data = self.query(
            f"""query($tournament: Int $number: Int $limit: Int) {{
              rounds(tournament: $tournament number: $number limit: $limit) {{ {ROUND_FIELDS} }}
            }}""",
            args,
        )
        raw = [r for r in data.get("rounds") or [] if r]
        if not raw:
            raise NumeraiAPIError("Numerai reported no current round; try again later.")
        now = self.server_now()
        parsed = [parse_round(r, now) for r in raw]
        return sorted(parsed, key=lambda r: r.number, reverse=True)  # whatever the API's order

    def current_round(self) -> RoundInfo:
        """The current round, judged against the server's clock (its ``Date`` header)."""
        return self.rounds(1)[0]

    def list_datasets(self, round: int | None = None) -> list[str]:
        files = self.api.list_datasets(round)
        return [str(f) for f in files or []]

    def newest_version(self) -> str:
        """The newest dataset version of this tournament listed (``v5.3`` beats ``v5.2``;
        Signals' ``signals/v2.1/...`` files give ``v2.1``)."""
        spec = LAYOUTS[self.tournament]
        versions = {spec.version_of(f) for f in self.list_datasets()} - {None}
        if not versions:
            raise NumeraiAPIError("Numerai listed no dataset versions; try again later.")
        return max((v for v in versions if v), key=version_key)

    def dataset_url(self, filename: str, round: int | None = None) -> str:
        data = self.query(
            """query($filename: String! $round: Int $tournament: Int) {
              dataset(filename: $filename round: $round tournament: $tournament)
            }""",
            {"filename": filename, "round": round, "tournament": self.tournament_id},
        )
        url = data.get("dataset")
        if not url:
            raise NumeraiAPIError(f"Numerai has no download link for {filename}.")
        return str(url)

    def download_file(
        self,
        filename: str,
        dest: Path,
        progress: Progress = SILENT,
        *,
        round: int | None = None,
        check: Callable[[Path], str | None] | None = None,
    ) -> Path:
        """Download ``filename`` (e.g. ``v5.2/live.parquet``) to ``dest``: resumable from
        ``dest.temp``, size-checked against the server, published atomically once ``check``
        (if given) finds it what its name says (:meth:`Http.download`)."""
        url = self.dataset_url(filename, round)
        return self.http.download(url, Path(dest), what=f"download {filename}",
                                  progress=progress, check=check)  # fmt: skip

    # -- account and uploads -----------------------------------------------------------
    def models(self) -> dict[str, str]:
        """Model name -> model id, for this tournament's models of the account."""
        return {str(k): str(v) for k, v in self.api.get_models().items()}

    def model_tournaments(self) -> dict[str, str]:
        """Model name -> tournament ("classic", "signals", "crypto") for every model of the
        account, whichever tournament this client is for."""
        query = "query { account { models { name tournament } } }"
        models = self.query(query, authorization=True)["account"]["models"]
        names = {v: k for k, v in TOURNAMENT_IDS.items()}
        return {str(m["name"]): names.get(m["tournament"], str(m["tournament"])) for m in models}

    def other_tournaments(self, names: Iterable[str]) -> dict[str, str]:
        """Each of ``names`` that is the account's model in another tournament than this
        client's -> that tournament ("signals", "crypto"); {} when Numerai cannot be asked."""
        try:
            theirs = self.model_tournaments()
        except NumeraiAPIError:
            return {}
        return {n: theirs[n] for n in names if theirs.get(n, self.tournament) != self.tournament}

    def _put(self, url: str, path: Path, what: str) -> None:
        body = Path(path).read_bytes()
        resp = self.http.request("PUT", url, what=what, data=body)
        if not 200 <= resp.status_code < 300:
            raise NumeraiAPIError(
                f"{what}: the upload was rejected (HTTP {resp.status_code}); nothing was "
                "submitted. Try again; if it keeps failing, the upload link may have expired."
            )

    def upload_predictions(
        self, path: Path, model_id: str, before_create: Callable[[], None] | None = None
    ) -> str:
        """Upload a predictions file for ``model_id``; returns the submission id.
        ``before_create`` is called once the file is stored, just before Numerai is asked to
        create the submission: from then on, the submission may exist."""
        path = Path(path)
        signals = self.tournament == "signals"
        auth_field = "submissionUploadSignalsAuth" if signals else "submission_upload_auth"
        auth = self.query(
            f"""query($filename: String! $tournament: Int! $modelId: String) {{
              {auth_field}(filename: $filename tournament: $tournament modelId: $modelId) {{
                filename url }} }}""",
            {"filename": path.name, "tournament": self.tournament_id, "modelId": model_id},
            True,
        )[auth_field]
        self._put(str(auth["url"]), path, f"upload {path.name}")
        if signals:
            query = """mutation($filename: String! $modelId: String) {
                createSignalsSubmission(filename: $filename modelId: $modelId
                                        source: "numerpilot") { id firstEffectiveDate } }"""
            args: dict[str, Any] = {"filename": auth["filename"], "modelId": model_id}
            field = "createSignalsSubmission"
        else:
            query = """mutation($filename: String! $tournament: Int! $modelId: String) {
                create_submission(filename: $filename tournament: $tournament
                                  modelId: $modelId source: "numerpilot") { id } }"""
            args = {
                "filename": auth["filename"],
                "tournament": self.tournament_id,
                "modelId": model_id,
            }
            field = "create_submission"
        if before_create is not None:
            before_create()
        created = self.query(query, args, True, idempotent=False).get(field)
        if not isinstance(created, dict) or not created.get("id"):  # done or not: ask
            raise NumeraiAPIError(f"Numerai did not confirm the submission of {path.name}.",
                                  uncertain=True, answered=True)  # fmt: skip
        return str(created["id"])

    def upload_model_pickle(
        self,
        path: Path,
        model_id: str,
        data_version: str | None = None,
        docker_image: str | None = None,
    ) -> str:
        """Upload a model pickle for Numerai to run every round; returns the upload id."""
        path = Path(path)
        version_id = self._named_id("computePickleDataVersions", data_version)
        image_id = self._named_id("computePickleDockerImages", docker_image)
        auth = self.query(
            """query($filename: String! $modelId: String) {
              computePickleUploadAuth(filename: $filename modelId: $modelId) { filename url } }""",
            {"filename": path.name, "modelId": model_id},
            True,
        )["computePickleUploadAuth"]
        self._put(str(auth["url"]), path, f"upload {path.name}")
        data = self.query(
            """mutation($filename: String! $tournament: Int! $modelId: String
                        $dataVersionId: String $dockerImageId: String) {
              createComputePickleUpload(filename: $filename tournament: $tournament
                  modelId: $modelId dataVersionId: $dataVersionId
                  dockerImageId: $dockerImageId) { id } }""",
            {
                "filename": auth["filename"],
                "tournament": self.tournament_id,
                "modelId": model_id,
                "dataVersionId": version_id,
                "dockerImageId": image_id,
            },
            True,
            idempotent=False,
        )
        created = data.get("createComputePickleUpload") or {}
        if not created.get("id"):
            raise NumeraiAPIError(f"Numerai did not confirm the model upload of {path.name}.")
        return str(created["id"])

    def _named_id(self, field: str, name: str | None) -> str | None:
        if name is None:
            return None
        items = self.query(f"query {{ {field} {{ name id }} }}", None, True)[field] or []
        mapping = {str(i["name"]): str(i["id"]) for i in items}
        if name in mapping.values():
            return name
        if name not in mapping:
            raise UsageError(f"{name!r} is not one of Numerai's options: {sorted(mapping)}")
        return mapping[name]

    def submissions(self, model_id: str) -> list[SubmissionInfo]:
        """Every submission Numerai holds for a model (to reconcile an uncertain upload)."""
        data = self.query(
            """query($modelId: String) {
              submissions(modelId: $modelId) { id filename insertedAt round { number } } }""",
            {"modelId": model_id},
            True,
        )
        return [_submission(raw) for raw in data.get("submissions") or []
                if isinstance(raw, dict) and raw.get("id")]  # fmt: skip

    def download_submission(self, submission_id: str, dest: Path) -> Path:
        """Download one of the account's earlier submission files (numerapi's
        ``download_submission``: ``submissionDownloadAuth`` then a GET) to ``dest``."""
        auth = self.query(
            """query($id: String) { submissionDownloadAuth(id: $id) { filename url } }""",
            {"id": submission_id},
            True,
        ).get("submissionDownloadAuth")
        if not isinstance(auth, dict) or not auth.get("url"):
            raise NumeraiAPIError(f"Numerai has no download link for submission {submission_id}.")
        return self.http.download(str(auth["url"]), Path(dest), what="download a submission")

    def submission_scores(self, model_id: str) -> list[dict[str, Any]]:
        """Score history of a model (numerapi's ``submission_scores``)."""
        return [dict(s) for s in self.api.submission_scores(model_id) or []]


def _submission(raw: dict[str, Any]) -> SubmissionInfo:
    """One entry of ``submissions``; a round or time that does not read is unknown (None)."""
    listed = raw.get("round")
    number = as_float(listed.get("number")) if isinstance(listed, dict) else None
    try:
        inserted: datetime | None = parse_time(raw.get("insertedAt"))
    except (TypeError, ValueError):
        inserted = None
    whole = int(number) if number is not None and number.is_integer() else None
    return SubmissionInfo(str(raw["id"]), str(raw.get("filename") or ""), inserted, whole)
