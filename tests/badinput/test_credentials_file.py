"""API keys as users get them wrong: an empty or blank variable, keys in quotes or behind
an ``export``, a credentials file that is empty, shell lines, broken JSON, half the keys, a
link to a file others can read, a file this user cannot read. Each is refused before any
request with what to do, and never with the key in the line."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.badinput.test_config_file import unreadable
from tests.conftest import Numerpilot
from tests.support.catalogue import Refused

PUBLIC, SECRET = "PUBLICPUBLICPUBLIC", "HUSHHUSHHUSHHUSHHUSH"
DEAD_URL = "http://127.0.0.1:9/"  # nothing listens: a key that got through fails as exit 3


def _env_keys(monkeypatch: pytest.MonkeyPatch, public: str, secret: str) -> None:
    monkeypatch.setenv("NUMERPILOT_API_URL", DEAD_URL)
    monkeypatch.setenv("NUMERAI_PUBLIC_ID", public)
    monkeypatch.setenv("NUMERAI_SECRET_KEY", secret)


def _case(public: str, secret: str, case: str, *fragments: str) -> object:
    return pytest.param(public, secret, fragments, marks=pytest.mark.bad_input("status", case))


@pytest.mark.parametrize(
    ("public", "secret", "fragments"),
    [
        _case(PUBLIC, "", "`NUMERAI_SECRET_KEY` set but empty",
              "NUMERAI_PUBLIC_ID is set but NUMERAI_SECRET_KEY is empty: set both"),
        _case(PUBLIC, "   ", "`NUMERAI_SECRET_KEY` only spaces",
              "The secret key in NUMERAI_SECRET_KEY is blank"),
        _case(PUBLIC, f'"{SECRET}"', "a key in quotes (an env file of systemd or docker)",
              "The secret key in NUMERAI_SECRET_KEY is in quotes", "remove them"),
        _case(f"export {PUBLIC}", SECRET, "a key with `export ` in front",
              "The public id in NUMERAI_PUBLIC_ID holds a space"),
    ],
)  # fmt: skip
def test_keys_in_the_environment(
    numerpilot: Numerpilot,
    refused: Refused,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    public: str,
    secret: str,
    fragments: tuple[str, ...],
) -> None:
    """Quotes and an 'export ' went to Numerai (exit 3, 'rejected the API keys'); an empty
    variable was 'not set'; a blank one was named with the other variable too."""
    _env_keys(monkeypatch, public, secret)
    line = refused(numerpilot("status", "-C", str(tmp_path)), 1, *fragments)
    assert SECRET not in line and PUBLIC not in line


def _keys_file(root: Path, monkeypatch: pytest.MonkeyPatch, content: str) -> Path:
    """The only keys: a private file (NUMERPILOT_CREDENTIALS) holding ``content``."""
    path = root / "keys.json"
    path.write_text(content, encoding="utf-8")
    path.chmod(0o600)
    monkeypatch.delenv("NUMERAI_PUBLIC_ID", raising=False)
    monkeypatch.delenv("NUMERAI_SECRET_KEY", raising=False)
    monkeypatch.setenv("NUMERPILOT_CREDENTIALS", str(path))
    monkeypatch.setenv("NUMERPILOT_API_URL", DEAD_URL)
    return path


def _file_case(content: str, case: str, *fragments: str) -> object:
    return pytest.param(content, fragments, marks=pytest.mark.bad_input("status", case))


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        _file_case("", "an empty credentials file", "keys.json is empty"),
        _file_case(f"export NUMERAI_PUBLIC_ID={PUBLIC}\r\nexport NUMERAI_SECRET_KEY={SECRET}\r\n",
                   "a credentials file of shell lines (`export NUMERAI_SECRET_KEY=...`)",
                   "holds shell lines", "set -a;"),
        _file_case(f'{{"public_id": "{PUBLIC}", "secret_key": "{SECRET}",}}',
                   "a credentials file that is not JSON (a trailing comma)",
                   "keys.json is not valid JSON", "at line 1, column"),
        _file_case(f'{{"public_id": "{PUBLIC}", "secret": "{SECRET}"}}',
                   "a credentials file without `secret_key`", 'keys.json lacks "secret_key"'),
        _file_case(f'{{"public_id": "{PUBLIC}", "secret_key": " \\"{SECRET}\\" "}}',
                   "a key in quotes inside the credentials file",
                   "The secret key in", "keys.json is in quotes"),
        _file_case(f'{{"public_id": "{PUBLIC}", "secret_key": "{SECRET}", '
                   f'"secret_key": "{SECRET[::-1]}"}}',
                   "a credentials file with `secret_key` twice (an old and a new key)",
                   "keys.json has 'secret_key' more than once; keep one pair of keys"),
    ],
)  # fmt: skip
def test_credentials_file_says_what_is_wrong(
    numerpilot: Numerpilot,
    refused: Refused,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    content: str,
    fragments: tuple[str, ...],
) -> None:
    """Every one of these said only 'must be UTF-8 JSON with two strings' (or, for quotes,
    went to Numerai); now the line says what is wrong, without quoting the file."""
    _keys_file(tmp_path, monkeypatch, content)
    line = refused(numerpilot("status", "-C", str(tmp_path)), 1, *fragments)
    assert SECRET not in line and PUBLIC not in line


@pytest.mark.bad_input("status", "NUMERPILOT_CREDENTIALS is a link to a file others can read")
def test_link_to_an_open_file(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _keys_file(tmp_path, monkeypatch, f'{{"public_id": "{PUBLIC}", "secret_key": '
                        f'"{SECRET}"}}')  # fmt: skip
    target.chmod(0o644)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    monkeypatch.setenv("NUMERPILOT_CREDENTIALS", str(link))
    line = refused(numerpilot("status", "-C", str(tmp_path)), 1, f"{link} (a link to {target})",
                   "mode 644", f"chmod 600 {link}")  # fmt: skip
    assert SECRET not in line


@pytest.mark.bad_input("status", "a credentials file this user cannot read")
def test_unreadable_credentials_file(
    numerpilot: Numerpilot, refused: Refused, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It said '... is not writable. Make it writable (chmod u+w) or choose another work
    directory with -C': the wrong fix, for the wrong file."""
    path = _keys_file(tmp_path, monkeypatch, f'{{"public_id": "{PUBLIC}", "secret_key": '
                      f'"{SECRET}"}}')  # fmt: skip
    unreadable(monkeypatch, path)
    try:
        line = refused(numerpilot("status", "-C", str(tmp_path)), 1, f"{path} cannot be read",
                       f"chmod 600 {path}")  # fmt: skip
    finally:
        path.chmod(0o600)
    assert "writable" not in line and "-C" not in line
