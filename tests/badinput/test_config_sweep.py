"""Bad values found by a sweep of what users write by hand (numerpilot.toml, the environment,
the credentials file) that were accepted, then did something else than meant: requests to
Numerai's real API, a sleep longer than the longest allowed, advice that cannot help."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import Numerpilot
from tests.support.catalogue import Refused

DEAD_URL = "http://127.0.0.1:9/"  # nothing listens: a request that got through is exit 3


@pytest.mark.bad_input("status", '`NUMERPILOT_API_URL` set but empty (`="$SANDBOX"`, unset)')
def test_empty_api_url_variable(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It was read as unset: the requests (and the keys) went to [api] base_url, Numerai's
    real API unless the config says otherwise, not to the sandbox meant."""
    (tmp_path / "numerpilot.toml").write_text(f'[api]\nbase_url = "{DEAD_URL}"\n')
    monkeypatch.setenv("NUMERPILOT_API_URL", "")
    refused(numerpilot("status", "-C", str(tmp_path)), 1, "NUMERPILOT_API_URL is set but "
            "empty", f"unset it to use [api] base_url ({DEAD_URL})")  # fmt: skip


@pytest.mark.bad_input("status", "`NUMERPILOT_CREDENTIALS=/dev/null` (a device, not a file)")
def test_credentials_a_device(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It said '/dev/null is accessible by other users (mode 666) ... chmod 600 /dev/null',
    advice that breaks the machine; a pipe there hung the command for good."""
    monkeypatch.delenv("NUMERAI_PUBLIC_ID", raising=False)
    monkeypatch.delenv("NUMERAI_SECRET_KEY", raising=False)
    monkeypatch.setenv("NUMERPILOT_CREDENTIALS", "/dev/null")
    monkeypatch.setenv("NUMERPILOT_API_URL", DEAD_URL)
    line = refused(numerpilot("status", "-C", str(tmp_path)), 1, "/dev/null is not a regular "
                   "file", "point NUMERPILOT_CREDENTIALS at the credentials file")  # fmt: skip
    assert "chmod" not in line


@pytest.mark.bad_input("validate", "`poll_seconds` longer than `max_sleep_seconds` ([daemon])")
def test_poll_longer_than_max_sleep(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path
) -> None:
    """Accepted: while a round was due the daemon slept whole polls, longer than the
    longest sleep max_sleep_seconds promises."""
    (tmp_path / "numerpilot.toml").write_text("[daemon]\npoll_seconds = 1000\n")
    line = refused(numerpilot("validate", "-C", str(tmp_path)), 1, "invalid configuration: "
                   "daemon.poll_seconds (1000) is longer than daemon.max_sleep_seconds (900)",
                   "lower poll_seconds or raise max_sleep_seconds")  # fmt: skip
    assert "(got" not in line


@pytest.mark.bad_input("train", "an era step that leaves too few eras for the era folds")
def test_era_step_too_large_for_folds(
    numerpilot: Numerpilot, refused: Refused, fresh: Path
) -> None:
    """It said only 'cannot make 3 era folds ... from 2 training eras; lower
    train.cv_folds or train.embargo_eras', never the era step that left 2 eras."""
    config = fresh / "numerpilot.toml"
    config.write_text(config.read_text().replace("era_step = 1", "era_step = 100"))
    assert "era_step = 100" in config.read_text()
    refused(numerpilot("train", "-C", str(fresh)), 1, "cannot make 3 era folds",
            "data.era_step = 100 keeps every 100th era only", "lower data.era_step.")  # fmt: skip
    assert not (fresh / "models").exists()
