"""Where the API is and how patient to be: config ``[api]``, then the environment.

``NUMERPILOT_API_URL`` overrides the base URL (tests and the sandbox use it); the default
is the real Numerai API. Credentials are only loaded when an operation needs them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from numerpilot.api.client import NumeraiClient
from numerpilot.config import Config
from numerpilot.credentials import ENV_PUBLIC, ENV_SECRET, Credentials, credentials_path
from numerpilot.credentials import load_credentials as _load

ENV_URL = "NUMERPILOT_API_URL"


@dataclass(frozen=True)
class ApiSettings:
    base_url: str
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 1.0


def api_settings(config: Config | None = None) -> ApiSettings:
    """Settings from the config's ``[api]`` section; ``NUMERPILOT_API_URL`` wins."""
    api = (config or Config()).api
    return ApiSettings(
        base_url=os.environ.get(ENV_URL) or api.base_url,
        timeout=api.timeout,
        retries=api.retries,
        backoff=api.backoff,
    )


def optional_credentials() -> Credentials | None:
    """Keys if the user has set any up (insecure files still raise), else None."""
    if os.environ.get(ENV_PUBLIC) and os.environ.get(ENV_SECRET):
        return _load()
    return _load() if credentials_path().exists() else None


def make_client(
    config: Config, *, credentials: Credentials | None = None, need_credentials: bool = True
) -> NumeraiClient:
    """A client for the configured tournament; loads keys (required unless told not to)."""
    creds = credentials or (_load() if need_credentials else optional_credentials())
    settings = api_settings(config)
    return NumeraiClient(
        creds,
        settings.base_url,
        config.submission.tournament,
        settings.timeout,
        settings.retries,
        backoff=settings.backoff,
    )
