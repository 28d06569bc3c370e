"""A client for the configured tournament: config ``[api]``, then the environment.

``NUMERPILOT_API_URL`` overrides ``[api] base_url`` (the sandbox uses it). Credentials are
loaded only when an operation needs them.
"""

from __future__ import annotations

import os

from numerpilot.api.client import NumeraiClient
from numerpilot.config import Config, url_problem
from numerpilot.credentials import ENV_PUBLIC, ENV_SECRET, Credentials, credentials_path
from numerpilot.credentials import load_credentials as _load
from numerpilot.errors import ConfigError

ENV_URL = "NUMERPILOT_API_URL"


def optional_credentials() -> Credentials | None:
    """Keys if the user has set any up (insecure files still raise), else None."""
    if os.environ.get(ENV_PUBLIC) or os.environ.get(ENV_SECRET):  # half set: says which
        return _load()
    path = credentials_path()  # a link to nothing is a broken setup, not "no keys": said
    return _load() if path.exists() or path.is_symlink() else None


def api_url(config: Config) -> str:
    """``NUMERPILOT_API_URL`` if set, else ``[api] base_url``; refused unless an http(s) URL.

    A variable set but empty (``NUMERPILOT_API_URL="$SANDBOX"`` with ``SANDBOX`` unset) is
    refused, not read as unset: that would send the requests, keys included, to
    ``[api] base_url``, Numerai's real API unless the config says otherwise."""
    env = os.environ.get(ENV_URL)
    if env is not None and not env.strip():
        raise ConfigError(
            f"{ENV_URL} is set but empty: set it to the API's URL (e.g. "
            "http://127.0.0.1:8765/ for the sandbox), or unset it to use [api] base_url "
            f"({config.api.base_url})."
        )
    url = env or config.api.base_url
    problem = url_problem(url)
    if problem:
        raise ConfigError(f"{ENV_URL if env else '[api] base_url'}: {problem}.")
    return url.strip()


def make_client(
    config: Config, *, credentials: Credentials | None = None, need_credentials: bool = True
) -> NumeraiClient:
    """A client for the configured tournament; loads keys (required unless told not to)."""
    url = api_url(config)
    creds = credentials or (_load() if need_credentials else optional_credentials())
    api = config.api
    return NumeraiClient(
        creds,
        url,
        config.submission.tournament,
        timeout=api.timeout,
        retries=api.retries,
        backoff=api.backoff,
    )
