"""Keys and stakes as a user's probe found them: a key the credentials file holds is never
quoted, even by an error that comes before the keys are loaded (a URL or config value that
holds one by mistake); a credentials link to nothing is said, not taken for "no keys"; and
no stake-changing GraphQL operation ever leaves numerpilot, whoever asks for one."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import Numerpilot
from tests.support.catalogue import Refused

from numerpilot.api.client import NumeraiClient
from numerpilot.api.transport import ForbiddenOperationError
from numerpilot.sandbox import SandboxServer

DEAD_URL = "http://127.0.0.1:9/"  # nothing listens: a request that got through fails (3)


def _keys_file(root: Path, monkeypatch: pytest.MonkeyPatch, public: str, secret: str) -> Path:
    """The only keys: a private credentials file (NUMERPILOT_CREDENTIALS), not loaded yet."""
    path = root / "credentials.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"public_id": public, "secret_key": secret}, fh)
    monkeypatch.delenv("NUMERAI_PUBLIC_ID", raising=False)
    monkeypatch.delenv("NUMERAI_SECRET_KEY", raising=False)
    monkeypatch.setenv("NUMERPILOT_CREDENTIALS", str(path))
    return path


@pytest.mark.bad_input("status", "`NUMERPILOT_API_URL` set to the secret key (variables mixed up)")
def test_api_url_holding_the_secret_key(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The line quoted the URL, so the secret key of the credentials file (not loaded yet:
    the URL is checked first) was printed whole."""
    secret = "SECRETURLMIXUP0123456789"
    _keys_file(tmp_path, monkeypatch, "PUBLICURLMIXUP", secret)
    monkeypatch.setenv("NUMERPILOT_API_URL", secret)
    line = refused(numerpilot("status", "-C", str(tmp_path)), 1, "NUMERPILOT_API_URL",
                   "is not an http(s) URL")  # fmt: skip
    assert secret not in line and "***" in line


@pytest.mark.bad_input("status", "`[api] base_url` given a list that holds the secret key")
def test_config_value_holding_the_secret_key(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrong-typed value is quoted by the config's check ('got [...]'): with a key of the
    credentials file in it, the key was printed."""
    secret = "SECRETINCONFIG0123456789"
    _keys_file(tmp_path, monkeypatch, "PUBLICINCONFIG", secret)
    monkeypatch.setenv("NUMERPILOT_API_URL", DEAD_URL)
    (tmp_path / "numerpilot.toml").write_text(f'[api]\nbase_url = ["{secret}"]\n', "utf-8")
    line = refused(numerpilot("status", "-C", str(tmp_path)), 1, "api.base_url")
    assert secret not in line


@pytest.mark.bad_input("status", "the credentials file is a link to a file that does not exist")
def test_credentials_link_to_nothing(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`status` went on without keys (no scores, no stakes), and a command that needs them
    said 'No Numerai API keys found ... write <the link>', as if nothing were there."""
    link = tmp_path / "credentials.json"
    link.symlink_to(tmp_path / "moved" / "keys.json")
    monkeypatch.delenv("NUMERAI_PUBLIC_ID", raising=False)
    monkeypatch.delenv("NUMERAI_SECRET_KEY", raising=False)
    monkeypatch.setenv("NUMERPILOT_CREDENTIALS", str(link))
    monkeypatch.setenv("NUMERPILOT_API_URL", DEAD_URL)
    refused(numerpilot("status", "-C", str(tmp_path)), 1,
            f"{link} is a link to {tmp_path / 'moved' / 'keys.json'}, which does not exist",
            "point the link at the credentials file")  # fmt: skip


def _stake_calls(client: NumeraiClient, model_id: str) -> dict[str, Callable[[], object]]:
    """numerapi's stake-changing (and account-changing) calls, as a bug might make them."""
    api = client.api
    return {
        "v2ChangeStake": lambda: api.stake_change(1, "increase", model_id),
        "v2ChangeStake (decrease)": lambda: api.stake_decrease(1, model_id),
        "releaseStake": lambda: api.stake_drain(model_id),
        "setSubmissionWebhook": lambda: api.set_submission_webhook(model_id, "http://x/"),
    }


def test_stake_changes_are_never_sent(client: NumeraiClient, sandbox: SandboxServer) -> None:
    """numerapi's stake_change went out (and, being taken for a query, was retried on a
    5xx); now any mutation but a submission's or a model upload's is refused unsent."""
    model_id = client.models()["sandbox_model"]
    before = list(sandbox.state.requests)
    for name, call in _stake_calls(client, model_id).items():
        with pytest.raises(ForbiddenOperationError, match="never changes a stake"):
            call()
        assert sandbox.state.requests == before, name
    assert client.current_round().number > 0  # queries still go out


def test_the_mutations_numerpilot_sends_still_go(
    client: NumeraiClient, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """The allowed mutation (a submission's create) reaches the sandbox."""
    live = tmp_path / "live.parquet"
    client.download_file("v5.3/live.parquet", live)
    import pandas as pd

    ids = pd.read_parquet(live).index
    preds = tmp_path / "preds.csv"
    pd.DataFrame({"id": ids, "prediction": [0.5 + i / (4 * len(ids)) for i in range(len(ids))]}
                 ).to_csv(preds, index=False)  # fmt: skip
    model_id = client.models()["sandbox_model"]
    assert client.upload_predictions(preds, model_id)
    assert "create_submission" in sandbox.state.requests


@pytest.mark.parametrize(
    "document",
    [
        'mutation { create_submission: v2ChangeStake(modelId: "m", value: "1") { id } }',
        'mutation { create_submission(filename: "f") { id } releaseStake(modelId: "m") { id } }',
    ],
)
def test_a_stake_change_behind_an_allowed_name_is_refused(
    client: NumeraiClient, sandbox: SandboxServer, document: str
) -> None:
    """Only the first root field was read: an alias or a second field passed the guard."""
    before = list(sandbox.state.requests)
    with pytest.raises(ForbiddenOperationError, match="never changes a stake"):
        client.api.raw_query(document, authorization=True)
    assert sandbox.state.requests == before
