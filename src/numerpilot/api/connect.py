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
    """``NUMERPILOT_API_URL`` if set, else ``[api] base_url``; refused unless an http(s) URL."""
    url = os.environ.get(ENV_URL) or config.api.base_url
    problem = url_problem(url)
    if problem:
        source = ENV_URL if os.environ.get(ENV_URL) else "[api] base_url"
        raise ConfigError(f"{source}: {problem}.")
    return url


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
