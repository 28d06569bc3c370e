"""``NumeraiClient``: numerapi (Classic, Signals, Crypto) with the sharp edges removed.

numerapi stays the source of truth for the queries; numerpilot replaces its transport.
Each numerapi class is subclassed so that ``raw_query`` goes through :class:`Http`
(timeouts, retries on connection errors, timeouts and 5xx), raises one readable
:class:`NumeraiAPIError` instead of ``KeyError: 'data'``, and posts to the configured base
URL instead of numerapi's module constant. The constructor skips numerapi's, which calls
``logging.basicConfig``. Uploads check the PUT status before the create mutation.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import numerapi

from numerpilot.api.errors import NumeraiAPIError
from numerpilot.api.http import Http, RetryPolicy, host_of
from numerpilot.credentials import Credentials
from numerpilot.data.layout import version_key
from numerpilot.errors import CredentialsError, UsageError
from numerpilot.progress import SILENT, Progress

log = logging.getLogger(__name__)

TOURNAMENT_IDS = {"classic": 8, "signals": 11, "crypto": 12}
_ROOT_FIELD = re.compile(r"\{\s*(\w+)")
_AUTH_WORDS = ("authenticat", "api key", "token", "session is invalid", "not authorized")


@dataclass(frozen=True)
class RoundInfo:
    """The current round as the API reports it, judged against the server's clock."""

    number: int
    open_time: datetime
    close_time: datetime
    is_open: bool


class _Transport:
    """Mixin replacing numerapi's constructor and ``raw_query``."""

    def __init__(self, http: Http, url: str, token: tuple[str, str] | None, tid: int) -> None:
        self.logger = logging.getLogger("numerapi")
        self.token = token
        self.show_progress_bars = False
        self.tournament_id = tid
        self.global_data_dir = "."
        self.http = http
        self.url = url
        self.server_time: datetime | None = None

    def raw_query(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        authorization: bool = False,
        **_: Any,
    ) -> dict[str, Any]:
        """POST one GraphQL operation; always returns a dict with ``data`` or raises."""
        match = _ROOT_FIELD.search(query)
        field = match.group(1) if match else "query"
        what = f"Numerai API call '{field}'"
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if authorization:
            if not self.token:
                raise CredentialsError(
                    f"{what} needs API keys. Set NUMERAI_PUBLIC_ID and NUMERAI_SECRET_KEY or "
                    "write ~/.numerai/credentials.json (mode 600)."
                )
            public_id, secret_key = self.token
            headers["Authorization"] = f"Token {public_id}${secret_key}"
        body = {"query": query, "variables": variables}
        resp = self.http.request("POST", self.url, what=what, json=body, headers=headers)
        self.server_time = _server_time(resp.headers.get("Date"))
        if resp.status_code in (401, 403):
            raise _auth_error(what, f"HTTP {resp.status_code}")
        try:
            result = resp.json()
        except ValueError:
            raise NumeraiAPIError(
                f"{what}: {host_of(self.url)} answered HTTP {resp.status_code} with a body "
                "that is not JSON. Is the API URL right (NUMERPILOT_API_URL)?"
            ) from None
        if not isinstance(result, dict):
            raise NumeraiAPIError(f"{what}: unexpected answer from {host_of(self.url)}.")
        errors = result.get("errors")
        if errors:
            message = "; ".join(_messages(errors)) or "unknown error"
            if any(word in message.lower() for word in _AUTH_WORDS):
                raise _auth_error(what, message)
            raise NumeraiAPIError(f"{what} failed: {message}")
        if resp.status_code >= 400 or not isinstance(result.get("data"), dict):
            raise NumeraiAPIError(
                f"{what}: {host_of(self.url)} answered HTTP {resp.status_code} without data."
            )
        return result


def _messages(errors: Any) -> list[str]:
    if isinstance(errors, list):
        return [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors]
    if isinstance(errors, dict):
        return [str(errors.get("detail", errors))]
    return [str(errors)]


def _auth_error(what: str, detail: str) -> NumeraiAPIError:
    return NumeraiAPIError(
        f"{what}: Numerai rejected the API keys ({detail}). Check NUMERAI_PUBLIC_ID and "
        "NUMERAI_SECRET_KEY (or ~/.numerai/credentials.json) and that the key has the scopes "
        "this action needs.",
        auth=True,
    )


def _server_time(header: str | None) -> datetime | None:
    if not header:
        return None
    try:
        return parsedate_to_datetime(header).astimezone(UTC)
    except (TypeError, ValueError):
        return None


class _Classic(_Transport, numerapi.NumerAPI):  # type: ignore[misc]
    pass


class _Signals(_Transport, numerapi.SignalsAPI):  # type: ignore[misc]
    pass


class _Crypto(_Transport, numerapi.CryptoAPI):  # type: ignore[misc]
    pass


_CLASSES: dict[str, type[_Transport]] = {
    "classic": _Classic,
    "signals": _Signals,
    "crypto": _Crypto,
}


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
        self.api: Any = _CLASSES[tournament](self.http, self.base_url, token, self.tournament_id)

    def __repr__(self) -> str:
        return f"NumeraiClient(tournament={self.tournament!r}, base_url={self.base_url!r})"

    @property
    def has_credentials(self) -> bool:
        return self.api.token is not None

    def query(
        self, query: str, variables: dict[str, Any] | None = None, authorization: bool = False
    ) -> dict[str, Any]:
        """Any GraphQL operation; returns the ``data`` object."""
        try:
            data: dict[str, Any] = self.api.raw_query(query, variables, authorization)["data"]
        except NumeraiAPIError as error:
            if self.credentials is None:
                raise
            raise NumeraiAPIError(
                self.credentials.redact(str(error)), auth=error.auth, retryable=error.retryable
            ) from None
        return data

    # -- rounds and datasets -----------------------------------------------------------
    def current_round(self) -> RoundInfo:
        """The current round; ``is_open`` uses the server's clock (its ``Date`` header)."""
        data = self.query(
            """query($tournament: Int!) {
              rounds(tournament: $tournament number: 0) { number openTime closeStakingTime }
            }""",
            {"tournament": self.tournament_id},
        )
        rounds = data.get("rounds") or []
        if not rounds or not rounds[0]:
            raise NumeraiAPIError("Numerai reported no current round; try again later.")
        raw = rounds[0]
        try:
            opened = datetime.fromisoformat(str(raw["openTime"]).replace("Z", "+00:00"))
            closes = datetime.fromisoformat(str(raw["closeStakingTime"]).replace("Z", "+00:00"))
            number = int(raw["number"])
        except (KeyError, TypeError, ValueError):
            raise NumeraiAPIError(f"Numerai's round answer was not understood: {raw!r}") from None
        now = self.api.server_time or datetime.now(UTC)
        return RoundInfo(number, opened, closes, opened <= now < closes)

    def list_datasets(self, round: int | None = None) -> list[str]:
        files = self.api.list_datasets(round)
        return [str(f) for f in files or []]

    def newest_version(self) -> str:
        """The newest dataset version listed (``v5.3`` beats ``v5.2`` and ``v4.3``)."""
        versions = {f.split("/", 1)[0] for f in self.list_datasets() if "/" in f}
        versions = {v for v in versions if version_key(v) != (-1,)}
        if not versions:
            raise NumeraiAPIError("Numerai listed no dataset versions; try again later.")
        return max(versions, key=version_key)

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
        self, filename: str, dest: Path, progress: Progress = SILENT, *, round: int | None = None
    ) -> Path:
        """Download ``filename`` (e.g. ``v5.2/live.parquet``) to ``dest``: resumable from
        ``dest.temp``, size-checked against the server, published atomically."""
        url = self.dataset_url(filename, round)
        return self.http.download(url, Path(dest), what=f"download {filename}", progress=progress)

    # -- account and uploads -----------------------------------------------------------
    def models(self) -> dict[str, str]:
        """Model name -> model id, for this tournament's models of the account."""
        return {str(k): str(v) for k, v in self.api.get_models().items()}

    def _put(self, url: str, path: Path, what: str) -> None:
        body = Path(path).read_bytes()
        resp = self.http.request("PUT", url, what=what, data=body)
        if not 200 <= resp.status_code < 300:
            raise NumeraiAPIError(
                f"{what}: the upload was rejected (HTTP {resp.status_code}); nothing was "
                "submitted. Try again; if it keeps failing, the upload link may have expired."
            )

    def upload_predictions(self, path: Path, model_id: str) -> str:
        """Upload a predictions file for ``model_id``; returns the submission id."""
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
            data = self.query(query, {"filename": auth["filename"], "modelId": model_id}, True)
            created = data.get("createSignalsSubmission")
        else:
            query = """mutation($filename: String! $tournament: Int! $modelId: String) {
                create_submission(filename: $filename tournament: $tournament
                                  modelId: $modelId source: "numerpilot") { id } }"""
            args = {
                "filename": auth["filename"],
                "tournament": self.tournament_id,
                "modelId": model_id,
            }
            created = self.query(query, args, True).get("create_submission")
        if not isinstance(created, dict) or not created.get("id"):
            raise NumeraiAPIError(f"Numerai did not confirm the submission of {path.name}.")
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

    def submission_scores(self, model_id: str) -> list[dict[str, Any]]:
        """Score history of a model (numerapi's ``submission_scores``)."""
        return [dict(s) for s in self.api.submission_scores(model_id) or []]
