"""Numerai API keys: from the environment or ``~/.numerai/credentials.json``, never leaked.

Secrets are kept in :class:`Credentials`, whose ``repr`` hides them; a message that might
contain one goes through :meth:`Credentials.redact` (the client does this for its errors)
or :func:`redact` (keys in the environment, ``Token ...`` headers and passwords in URLs;
the CLI's last step).
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from numerpilot.errors import CredentialsError

ENV_PUBLIC = "NUMERAI_PUBLIC_ID"
ENV_SECRET = "NUMERAI_SECRET_KEY"
DEFAULT_PATH = Path("~/.numerai/credentials.json")
#: Every key loaded in this process: :func:`redact` removes them from any text, wherever
#: they came from (the environment or a credentials file).
_LOADED: set[str] = set()


@dataclass(frozen=True)
class Credentials:
    public_id: str
    secret_key: str = field(repr=False)

    def __post_init__(self) -> None:
        _LOADED.update((self.public_id, self.secret_key))  # redact() removes them from now on

    @property
    def auth_header(self) -> str:
        return f"Token {self.public_id}${self.secret_key}"

    def redact(self, text: str) -> str:
        """``text`` without these keys (nor any key of :func:`redact`)."""
        return redact(text, self.public_id, self.secret_key)


def credentials_path() -> Path:
    """``NUMERPILOT_CREDENTIALS`` (when set and not empty), else the default path."""
    return Path(os.environ.get("NUMERPILOT_CREDENTIALS") or str(DEFAULT_PATH)).expanduser()


def load_credentials(path: Path | None = None) -> Credentials:
    """Keys from ``NUMERAI_PUBLIC_ID``/``NUMERAI_SECRET_KEY``, else from the credentials file."""
    public, secret = os.environ.get(ENV_PUBLIC), os.environ.get(ENV_SECRET)
    if public and secret:
        return _checked(public, secret, f"{ENV_PUBLIC} / {ENV_SECRET}")
    if public or secret:
        have, lack = (ENV_PUBLIC, ENV_SECRET) if public else (ENV_SECRET, ENV_PUBLIC)
        raise CredentialsError(
            f"{have} is set but {lack} is not: set both (or neither, to read the keys from "
            f"{path or credentials_path()})."
        )
    path = path or credentials_path()
    if not path.exists():
        raise CredentialsError(
            f"No Numerai API keys found. Set {ENV_PUBLIC} and {ENV_SECRET}, or write "
            f'{path} as {{"public_id": "...", "secret_key": "..."}} and run: chmod 600 {path}'
        )
    if path.is_dir():
        raise CredentialsError(
            f"{path} is a folder, not a credentials file: point NUMERPILOT_CREDENTIALS at the "
            'file (UTF-8 JSON: {"public_id": "...", "secret_key": "..."}, mode 600).'
        )
    check_permissions(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
        public, secret = data["public_id"], data["secret_key"]
    except (ValueError, KeyError, TypeError):  # not UTF-8, not JSON, not an object
        public = secret = None
    if not (isinstance(public, str) and isinstance(secret, str) and public and secret):
        raise CredentialsError(
            f'{path} must be UTF-8 JSON with two strings: {{"public_id": "...", '
            '"secret_key": "..."}.'
        )
    return _checked(public, secret, str(path))


def keys_source() -> str:
    """Where the keys in use come from, for a message about them."""
    if os.environ.get(ENV_PUBLIC) and os.environ.get(ENV_SECRET):
        return f"{ENV_PUBLIC} and {ENV_SECRET}"
    path = credentials_path()
    return str(path) if path.exists() else f"{ENV_PUBLIC} and {ENV_SECRET} (or {path})"


def _checked(public: str, secret: str, source: str) -> Credentials:
    """Keys as Numerai issues them (printable ASCII); never quoted in the error."""
    public, secret = public.strip(), secret.strip()
    for name, value in (("public id", public), ("secret key", secret)):
        if not value:
            raise CredentialsError(
                f"The {name} in {source} is blank; copy it again from numer.ai (Account, API keys)."
            )
        if not value.isascii() or not value.isprintable():
            raise CredentialsError(
                f"The {name} in {source} holds characters that are not in Numerai's keys "
                "(printable ASCII only); copy it again from numer.ai (Account, API keys)."
            )
    return Credentials(public, secret)


def check_permissions(path: Path) -> None:
    """Refuse a credentials file that group or others can read or write."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise CredentialsError(
            f"{path} is accessible by other users (mode {mode:o}); refusing to read API keys "
            f"from it. Fix it with: chmod 600 {path}"
        )


_TOKEN_RE = re.compile(r"(Token\s+)\S+")
#: A URL's user name and password (up to the last @ before its path: a password may hold one)
_URL_USERINFO_RE = re.compile(r"(://)[^/\s]*@")


def redact(text: str, *secrets: str) -> str:
    """Replace ``secrets``, the keys in the environment, every key loaded in this process,
    any ``Token ...`` header value and a URL's user name and password by ``***``."""
    known = {*secrets, *_LOADED, os.environ.get(ENV_PUBLIC, ""), os.environ.get(ENV_SECRET, "")}
    for secret in sorted((k for k in known if len(k) >= 4), key=len, reverse=True):
        text = text.replace(secret, "***")
    return _URL_USERINFO_RE.sub(r"\1***@", _TOKEN_RE.sub(r"\1***", text))


def without_userinfo(url: str) -> str:
    """``url`` with whatever stands between its ``://`` and the last ``@`` before its path
    shown as ``***`` (a password may hold a space or an @ that a pattern would stop at)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, path = rest.partition("/")
    if "@" not in authority:
        return url
    return f"{scheme}://***@{authority.rpartition('@')[2]}{slash}{path}"
