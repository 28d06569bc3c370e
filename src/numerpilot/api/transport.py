"""numerapi's classes with numerpilot's transport: timeouts, retries, readable errors.

Each numerapi class (Classic, Signals, Crypto) is subclassed so that ``raw_query`` goes
through :class:`Http` (timeouts; retries on connection errors, timeouts and 5xx for
queries only), raises one readable :class:`NumeraiAPIError` instead of ``KeyError:
'data'``, posts to the configured base URL instead of numerapi's module constant, and
records the server's clock (its ``Date`` header). The constructor skips numerapi's, which
calls ``logging.basicConfig``. The only mutations it sends are the ones that create a
submission or a model upload (:data:`MUTATIONS`): numerpilot never changes a stake, so any
other (numerapi's ``stake_change``, ``stake_drain``, ...) is refused before it is sent.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import numerapi

from numerpilot.api.errors import NumeraiAPIError
from numerpilot.api.http import HeaderAuth, Http, host_of
from numerpilot.credentials import keys_source
from numerpilot.errors import CredentialsError

log = logging.getLogger(__name__)
_ROOT_FIELD = re.compile(r"\{\s*(\w+)")
#: The mutations numerpilot sends; every other one is refused unsent (a stake change above all)
MUTATIONS = frozenset({"create_submission", "createSignalsSubmission", "createComputePickleUpload"})
#: A mutation or subscription operation: first in the document, or after another one
_OPERATION = re.compile(r"(?:^|\})\s*(?:#[^\n]*\n\s*)*(mutation|subscription)\b")


class ForbiddenOperationError(RuntimeError):
    """numerpilot was about to send a mutation it never sends (a bug: exit code 70)."""


def _check_operation(query: str, field: str) -> bool:
    """Whether ``query`` is a mutation (then every root field of it one of
    :data:`MUTATIONS`, aliased or not, else refused)."""
    kind = _OPERATION.search(query)
    if kind is None:
        return False
    fields = _root_fields(query, kind.end()) if kind.group(1) == "mutation" else []
    other = next((f for f in fields if f not in MUTATIONS), None if fields else field)
    if kind.group(1) != "mutation" or other is not None:
        raise ForbiddenOperationError(
            f"refused to send the GraphQL {kind.group(1)} '{other or field}': numerpilot only "
            "creates submissions and model uploads, and never changes a stake."
        )
    return True


_TOKEN = re.compile(r'"(?:\\.|[^"\\])*"|\w+|[{}():]')


def _root_fields(query: str, start: int) -> list[str]:
    """The fields of the first selection set after ``start`` (an alias ``a: b`` gives
    ``b``); arguments and strings are skipped."""
    fields: list[str] = []
    depth = parens = 0
    tokens = [t.group() for t in _TOKEN.finditer(query, start)]
    for i, token in enumerate(tokens):
        if token == "(":
            parens += 1
        elif token == ")":
            parens -= 1
        elif parens:
            continue
        elif token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
            if depth == 0:
                break
        elif depth == 1 and token[0] not in '"{}():' and tokens[i + 1 : i + 2] != [":"]:
            fields.append(token)  # (an alias, followed by ":", names the field after it)
    return fields


_AUTH_WORDS = ("authenticat", "api key", "token", "session is invalid", "not authorized")


class Transport:
    """Mixin replacing numerapi's constructor and ``raw_query``."""

    def __init__(self, http: Http, url: str, token: tuple[str, str] | None, tid: int) -> None:
        self.logger = logging.getLogger("numerapi")
        self.token = token
        self.show_progress_bars = False
        self.tournament_id = tid
        self.global_data_dir = "."
        self.http = http
        self.url = url
        #: the server's clock at the last answer, and time.monotonic() when it arrived
        self.server_time: datetime | None = None
        self.received_at = 0.0

    def raw_query(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        authorization: bool = False,
        *,
        idempotent: bool = True,
        **_: Any,
    ) -> dict[str, Any]:
        """POST one GraphQL operation; always returns a dict with ``data`` or raises.

        A mutation (``idempotent=False``) is never resent once it may have reached the
        server: the failure is a :class:`NumeraiAPIError` with ``uncertain`` set.
        """
        match = _ROOT_FIELD.search(query)
        field = match.group(1) if match else "query"
        what = f"Numerai API call '{field}'"
        if _check_operation(query, field):
            idempotent = False  # a mutation is never resent blindly, whoever called it
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        auth = HeaderAuth()
        if authorization:
            if not self.token:
                raise CredentialsError(
                    f"{what} needs API keys. Set NUMERAI_PUBLIC_ID and NUMERAI_SECRET_KEY or "
                    "write ~/.numerai/credentials.json (mode 600)."
                )
            public_id, secret_key = self.token
            auth = HeaderAuth(f"Token {public_id}${secret_key}")
        body = {"query": query, "variables": variables}
        resp = self.http.request("POST", self.url, what=what, json=body, headers=headers,
                                 auth=auth, idempotent=idempotent)  # fmt: skip
        self.server_time = _server_time(resp.headers.get("Date")) or self.server_time
        self.received_at = time.monotonic()
        if resp.status_code in (401, 403) and authorization:
            raise _auth_error(what, f"HTTP {resp.status_code}")
        endpoint = host_of(self.url, path=True)  # as the user set it: the path too
        if resp.status_code in (401, 403):  # no keys were sent: none can have been rejected
            raise NumeraiAPIError(
                f"{what}: {endpoint} answered HTTP {resp.status_code} to a request "
                "that needs no API keys (a proxy in the way, or trouble at Numerai); try "
                "again later.",
                retryable=True,
            )
        try:
            result = resp.json()
        except ValueError:
            raise NumeraiAPIError(
                f"{what}: {endpoint} answered HTTP {resp.status_code} with a body "
                "that is not JSON. Is the API URL right (NUMERPILOT_API_URL, else [api] base_url)?"
            ) from None
        if not isinstance(result, dict):
            raise NumeraiAPIError(f"{what}: unexpected answer from {endpoint}.")
        errors = result.get("errors")
        if errors:
            message = "; ".join(_messages(errors)) or "unknown error"
            if authorization and any(word in message.lower() for word in _AUTH_WORDS):
                raise _auth_error(what, message)
            data = result.get("data")
            if not (idempotent and isinstance(data, dict) and data.get(field) is not None):
                raise NumeraiAPIError(f"{what} failed: {message}")
            # a query answered in full beside a note (a deprecation, a field of no use here)
            log.warning("%s: Numerai answered with a note: %s", what, message)
        if resp.status_code >= 400 or not isinstance(result.get("data"), dict):
            raise NumeraiAPIError(
                f"{what}: {endpoint} answered HTTP {resp.status_code} without data."
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
        f"{what}: Numerai rejected the API keys ({detail}). Check the keys in "
        f"{keys_source()}: they must be right and have the scopes this action needs.",
        auth=True,
    )


def _server_time(header: str | None) -> datetime | None:
    if not header:
        return None
    try:
        return parsedate_to_datetime(header).astimezone(UTC)
    except (TypeError, ValueError):
        return None


class _Classic(Transport, numerapi.NumerAPI):  # type: ignore[misc]
    pass


class _Signals(Transport, numerapi.SignalsAPI):  # type: ignore[misc]
    pass


class _Crypto(Transport, numerapi.CryptoAPI):  # type: ignore[misc]
    pass


CLASSES: dict[str, type[Transport]] = {
    "classic": _Classic,
    "signals": _Signals,
    "crypto": _Crypto,
}
