from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from numerpilot.credentials import Credentials, load_credentials, redact
from numerpilot.errors import CredentialsError

PUBLIC, SECRET = "PUBLICIDPUBLICID", "SECRETKEYSECRETKEYSECRETKEY"


@pytest.fixture(autouse=True)
def _no_env_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NUMERAI_PUBLIC_ID", raising=False)
    monkeypatch.delenv("NUMERAI_SECRET_KEY", raising=False)


def save_credentials(creds: Credentials, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"public_id": creds.public_id, "secret_key": creds.secret_key}, fh)
    return path


def test_environment_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NUMERAI_PUBLIC_ID", PUBLIC)
    monkeypatch.setenv("NUMERAI_SECRET_KEY", SECRET)
    creds = load_credentials(tmp_path / "absent.json")
    assert (creds.public_id, creds.secret_key) == (PUBLIC, SECRET)
    assert creds.auth_header == f"Token {PUBLIC}${SECRET}"


def test_file_round_trip_is_private(tmp_path: Path) -> None:
    path = save_credentials(Credentials(PUBLIC, SECRET), tmp_path / "keys" / "credentials.json")
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_credentials(path) == Credentials(PUBLIC, SECRET)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_refuses_file_readable_by_others(tmp_path: Path, mode: int) -> None:
    path = save_credentials(Credentials(PUBLIC, SECRET), tmp_path / "credentials.json")
    path.chmod(mode)
    with pytest.raises(CredentialsError) as info:
        load_credentials(path)
    assert f"chmod 600 {path}" in str(info.value)
    assert SECRET not in str(info.value)


def test_missing_keys_explain_both_ways(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="NUMERAI_PUBLIC_ID.*chmod 600"):
        load_credentials(tmp_path / "absent.json")


def test_malformed_file(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    path.write_text('{"public": 1}')
    path.chmod(0o600)
    with pytest.raises(CredentialsError, match="public_id.*secret_key"):
        load_credentials(path)


def test_secret_never_in_repr_or_redacted_text(caplog: pytest.LogCaptureFixture) -> None:
    creds = Credentials(PUBLIC, SECRET)
    assert SECRET not in repr(creds) and PUBLIC not in repr(creds)  # the id showed
    text = f"failed with header {creds.auth_header} and key {SECRET}"
    cleaned = creds.redact(text)
    assert SECRET not in cleaned and PUBLIC not in cleaned
    assert "Token ***" in cleaned
    logging.getLogger("t").warning(creds.redact(text))
    assert SECRET not in caplog.text


def test_redact_removes_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    never = "NEVERLOADEDSECRET12345"
    assert redact(f"key {never}") == f"key {never}"  # unknown: nothing to remove
    monkeypatch.setenv("NUMERAI_SECRET_KEY", never)
    assert redact(f"key {never}") == "key ***"


def test_redact_removes_every_key_loaded_and_a_urls_userinfo() -> None:
    Credentials("LOADEDPUBLIC777", "LOADEDSECRET777")  # from a file, say: not in the env
    assert redact("a LOADEDPUBLIC777 b LOADEDSECRET777") == "a *** b ***"
    for url in ("http://u:p@ss w@h/x", "http://TOKEN66@h/x", "https://u:pw@h:1/x?a=b@c"):
        assert "@h" in redact(url) and not any(s in redact(url) for s in ("TOKEN", ":p", "u:"))
    assert redact("header Token abc$def") == "header Token ***"


def test_a_byte_order_mark_in_the_file_is_no_error(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    path.write_bytes(f'\ufeff{{"public_id": "{PUBLIC}", "secret_key": "{SECRET}"}}'.encode())
    path.chmod(0o600)
    assert load_credentials(path) == Credentials(PUBLIC, SECRET)


@pytest.mark.parametrize(
    "content",
    [
        '{"public_id": "PUBLICNOTLOADED1", "secret_key": "SECRETNOTLOADED1234"}',
        'export NUMERAI_PUBLIC_ID=PUBLICNOTLOADED1\nNUMERAI_SECRET_KEY="SECRETNOTLOADED1234"\n',
    ],
)
def test_redact_removes_the_files_keys_before_they_are_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str
) -> None:
    """An error before the keys are needed (a URL or config value holding one by mistake)
    printed them: only loaded keys and the environment's were removed."""
    path = tmp_path / "credentials.json"
    path.write_text(content, encoding="utf-8")
    path.chmod(0o600)
    monkeypatch.setenv("NUMERPILOT_CREDENTIALS", str(path))
    line = redact("got ['SECRETNOTLOADED1234'] for PUBLICNOTLOADED1")
    assert "SECRETNOTLOADED1234" not in line and "PUBLICNOTLOADED1" not in line


def test_keys_from_the_environment_say_the_file_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Both set up: the environment wins, and -v says so (it said nothing)."""
    path = save_credentials(Credentials("PUBLICINFILE", "SECRETINFILE1234"), tmp_path / "c.json")
    monkeypatch.setenv("NUMERAI_PUBLIC_ID", PUBLIC)
    monkeypatch.setenv("NUMERAI_SECRET_KEY", SECRET)
    with caplog.at_level(logging.INFO, logger="numerpilot.credentials"):
        assert load_credentials(path).public_id == PUBLIC
    assert f"they win over {path}, which is not read" in caplog.text
    assert SECRET not in caplog.text and "SECRETINFILE1234" not in caplog.text


def test_redact_never_raises_without_a_home_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    """A container user without HOME or a passwd entry: '~' cannot be expanded, and redact
    (which runs on every error line) raised RuntimeError, so every error became a crash."""
    import pwd

    from numerpilot.credentials import redact

    def no_entry(uid: int) -> pwd.struct_passwd:
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.delenv("HOME", raising=False)
    monkeypatch.delenv("NUMERPILOT_CREDENTIALS", raising=False)
    monkeypatch.setenv("NUMERAI_PUBLIC_ID", "PUBLICNOHOME1234")
    monkeypatch.setenv("NUMERAI_SECRET_KEY", "SECRETNOHOME5678")
    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    assert redact("boom SECRETNOHOME5678") == "boom ***"
    assert load_credentials().secret_key == "SECRETNOHOME5678"  # the variables still count


def test_a_webhook_token_in_the_query_alone_is_redacted() -> None:
    from numerpilot.credentials import add_secret, redact

    add_secret("https://hooks.example.com?token=QUERYTOKEN123456789")
    assert "QUERYTOKEN" not in redact('"POST /?token=QUERYTOKEN123456789 HTTP/1.1" 200')


def test_keys_from_a_pipe_as_a_shell_passes_them(tmp_path: Path) -> None:
    """``NUMERPILOT_CREDENTIALS=<(pass show numerai)``: a pipe, mode 600, read once per
    process (a second read of the same pipe would find it empty)."""
    import numerpilot.credentials as credentials

    read, write = os.pipe()
    try:
        os.write(write, json.dumps({"public_id": PUBLIC, "secret_key": SECRET}).encode())
        os.close(write)
        path = Path(f"/proc/self/fd/{read}")
        assert load_credentials(path) == Credentials(PUBLIC, SECRET)
        assert load_credentials(path) == Credentials(PUBLIC, SECRET)
    finally:
        os.close(read)
        credentials._PIPED.clear()


def test_a_pipe_never_closed_is_refused_not_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numerpilot.credentials as credentials

    monkeypatch.setattr(credentials, "PIPE_SECONDS", 0.2)
    read, write = os.pipe()
    try:
        os.write(write, b'{"public_id": ')  # and never more, never closed
        with pytest.raises(CredentialsError, match="not written and closed within 0.2 s"):
            load_credentials(Path(f"/proc/self/fd/{read}"))
    finally:
        os.close(read), os.close(write)


def test_a_named_pipe_nobody_writes_is_refused_not_a_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numerpilot.credentials as credentials

    monkeypatch.setattr(credentials, "PIPE_SECONDS", 0.2)
    pipe = tmp_path / "credentials.json"
    os.mkfifo(pipe, 0o600)
    with pytest.raises(CredentialsError, match="not written and closed within 0.2 s"):
        load_credentials(pipe)
    os.chmod(pipe, 0o644)
    with pytest.raises(CredentialsError, match="accessible by other users"):
        load_credentials(pipe)
