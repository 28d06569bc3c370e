"""Numerai API keys: from the environment or ``~/.numerai/credentials.json``, never leaked.

Secrets are kept in :class:`Credentials`, whose ``repr`` hides them; a message that might
contain one goes through :meth:`Credentials.redact` (the client does this for its errors)
or :func:`redact` (keys in the environment or the credentials file, even before they are
loaded, ``Token ...`` headers and passwords in URLs; the CLI's last step).
"""

from __future__ import annotations

import json
import logging
import os
import re
import select
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from numerpilot.errors import CredentialsError

log = logging.getLogger(__name__)
ENV_PUBLIC = "NUMERAI_PUBLIC_ID"
ENV_SECRET = "NUMERAI_SECRET_KEY"
DEFAULT_PATH = Path("~/.numerai/credentials.json")
#: Every key loaded in this process: :func:`redact` removes them from any text, wherever
#: they came from (the environment or a credentials file).
_LOADED: set[str] = set()


#: A URL's path and query as long as this or longer is a token (``/services/T0/B0/XXXX``),
#: removed on its own too; a shorter one (``/alert``) is a word that other text holds.
TOKEN_PATH = 16


def add_secret(value: str) -> None:
    """Have :func:`redact` remove ``value`` from now on (a webhook URL, which is a token),
    and a long path and query of it too (an HTTP log line shows a URL without its host)."""
    _LOADED.add(value)
    _, sep, rest = value.partition("://")
    path = "".join(rest.partition("/")[1:])
    query = "".join(rest.partition("?")[1:])  # a token in the query alone (no path)
    for part in (path, query):
        if sep and len(part) >= TOKEN_PATH:
            _LOADED.add(part)


@dataclass(frozen=True)
class Credentials:
    """A public id and secret key; neither is in its ``repr`` (both are removed by
    :func:`redact`: a public id is half of the key that Numerai checks)."""

    public_id: str = field(repr=False)
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
        unused = _unused_file(path)  # both set up: which one counts is worth a line (-v)
        log.log(logging.INFO if unused else logging.DEBUG, "API keys from %s and %s%s",
                ENV_PUBLIC, ENV_SECRET, unused)  # fmt: skip
        return _checked(public, secret, ENV_PUBLIC, ENV_SECRET)
    if public or secret:
        have, lack = (ENV_PUBLIC, ENV_SECRET) if public else (ENV_SECRET, ENV_PUBLIC)
        state = "empty" if lack in os.environ else "not"
        raise CredentialsError(
            f"{have} is set but {lack} is {state}: set both (or neither, to read the keys "
            f"from {path or credentials_path()})."
        )
    path = path or credentials_path()
    if path.is_symlink() and not path.exists():
        raise CredentialsError(
            f"{path} is a link to {os.readlink(path)}, which does not exist: point the link at "
            f"the credentials file ({_FORMAT}, mode 600), or remove it and set {ENV_PUBLIC} "
            f"and {ENV_SECRET}."
        )
    if not path.exists():
        raise CredentialsError(
            f"No Numerai API keys found. Set {ENV_PUBLIC} and {ENV_SECRET}, or write "
            f'{path} as {{"public_id": "...", "secret_key": "..."}} and run: chmod 600 {path}'
        )
    if path.is_dir():
        raise CredentialsError(
            f"{path} is a folder, not a credentials file: point NUMERPILOT_CREDENTIALS at the "
            f"file ({_FORMAT}, mode 600)."
        )
    if not (path.is_file() or path.is_fifo()):  # /dev/null: "chmod 600 /dev/null" would follow
        raise CredentialsError(
            f"{path} is not a regular file (a device or a socket): point NUMERPILOT_CREDENTIALS "
            f"at the credentials file ({_FORMAT}, mode 600), or set {ENV_PUBLIC} and "
            f"{ENV_SECRET}."
        )
    check_permissions(path)
    public, secret = _file_keys(path)
    log.debug("API keys from %s", path)
    return _checked(public, secret, f"the public id in {path}", f"the secret key in {path}")


def _unused_file(path: Path | None) -> str:
    """What a log line about keys from the environment adds when a credentials file exists
    too (the environment wins; the file is not read)."""
    try:  # a folder this user cannot enter, no home folder: no file to name
        path = path or credentials_path()
        return f" (they win over {path}, which is not read)" if path.exists() else ""
    except (OSError, RuntimeError):
        return ""


#: The credentials file's format, as messages describe it.
_FORMAT = 'UTF-8 JSON: {"public_id": "...", "secret_key": "..."}'
#: A line of a shell or env file that sets a key (``export NUMERAI_SECRET_KEY=...``).
_SHELL_LINE = re.compile(rf"^\s*(export\s+)?({ENV_PUBLIC}|{ENV_SECRET})\s*=", re.MULTILINE)


def _file_keys(path: Path) -> tuple[str, str]:
    """The two keys of a credentials file; what is wrong with it said without quoting it."""
    text = _file_text(path)
    if not text.strip():
        raise CredentialsError(f"{path} is empty; write the keys in it as {_FORMAT}.")
    if _SHELL_LINE.search(text):
        raise CredentialsError(
            f"{path} holds shell lines ({ENV_PUBLIC}=...), not JSON: write it as {_FORMAT}, "
            f"or export the two variables from that file instead (set -a; . {path}; set +a)."
        )
    try:
        data = json.loads(text, object_pairs_hook=_once_each)
    except json.JSONDecodeError as error:  # its message quotes no part of the file
        raise CredentialsError(
            f"{path} is not valid JSON ({error.msg} at line {error.lineno}, column "
            f"{error.colno}); write it as {_FORMAT}."
        ) from None
    if not isinstance(data, dict):
        raise CredentialsError(f"{path} is not a JSON object; it must be {_FORMAT}.")
    twice = [key for key in data.get(_TWICE, ()) if key in ("public_id", "secret_key")]
    if twice:  # JSON takes the last silently: which pair was meant is not known
        raise CredentialsError(
            f"{path} has {' and '.join(map(repr, twice))} more than once; keep one pair of "
            f"keys in it: {_FORMAT}."
        )
    missing = [f'"{key}"' for key in ("public_id", "secret_key") if key not in data]
    if missing:
        raise CredentialsError(f"{path} lacks {' and '.join(missing)}; it must be {_FORMAT}.")
    public, secret = data["public_id"], data["secret_key"]
    if not (isinstance(public, str) and isinstance(secret, str)):
        raise CredentialsError(f"{path}: both keys must be strings in quotes: {_FORMAT}.")
    return public, secret


#: Where :func:`_once_each` lists the keys an object of the file has more than once.
_TWICE = "\0twice"


def _once_each(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, with the keys it has more than once listed under :data:`_TWICE`."""
    keys = [key for key, _ in pairs]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    return {**dict(pairs), _TWICE: twice} if twice else dict(pairs)


def _file_text(path: Path) -> str:
    """The text of a credentials file, or of a pipe (``<(pass show numerai)``, read once per
    process); not UTF-8 or not readable by this user is refused."""
    try:
        if path.is_fifo():
            if str(path) not in _PIPED:
                _PIPED[str(path)] = _pipe_text(path)
            return _PIPED[str(path)]
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise CredentialsError(f"{path} is not UTF-8 text; it must be {_FORMAT}.") from None
    except PermissionError:
        raise CredentialsError(
            f"{path} cannot be read (permission denied): it must belong to the user who runs "
            f"numerpilot, readable by that user alone. Fix it with: chmod 600 {path} (and "
            "chown to that user)."
        ) from None


#: What a pipe as the credentials file held, by its path: a second read would find it empty.
_PIPED: dict[str, str] = {}
#: Seconds a pipe may take to deliver the keys (a password manager asking for its passphrase).
PIPE_SECONDS = 60.0


def _pipe_text(path: Path) -> str:
    """Everything written to the pipe ``path`` until its writer closes it; a writer that
    keeps it open without finishing is refused after PIPE_SECONDS, not waited for forever."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a named pipe no one opened: no hang
    chunks: list[bytes] = []
    seconds = PIPE_SECONDS
    end = time.monotonic() + seconds
    try:
        while (left := end - time.monotonic()) > 0:
            if not select.select([fd], [], [], left)[0]:
                break
            chunk = os.read(fd, 65536)
            if not chunk:  # the writer closed it: all there is
                return b"".join(chunks).decode("utf-8-sig")
            chunks.append(chunk)
    finally:
        os.close(fd)
    raise CredentialsError(
        f"{path} is a pipe that was not written and closed within {seconds:g} s: whatever "
        "writes the keys into it must write them and end (or point NUMERPILOT_CREDENTIALS "
        f"at a file, {_FORMAT}, mode 600)."
    )


def keys_source() -> str:
    """Where the keys in use come from, for a message about them."""
    if os.environ.get(ENV_PUBLIC) and os.environ.get(ENV_SECRET):
        return f"{ENV_PUBLIC} and {ENV_SECRET}"
    path = credentials_path()
    return str(path) if path.exists() else f"{ENV_PUBLIC} and {ENV_SECRET} (or {path})"


def _checked(public: str, secret: str, public_from: str, secret_from: str) -> Credentials:
    """Keys as Numerai issues them (printable ASCII, no quotes, no spaces); never quoted in
    the error, which names where each came from (a variable, or the key in a file)."""
    public, secret = public.strip(), secret.strip()
    for name, value, source in (("public id", public, public_from),
                                ("secret key", secret, secret_from)):  # fmt: skip
        problem = _key_problem(value)
        if problem:
            where = source if source.startswith("the ") else f"the {name} in {source}"
            raise CredentialsError(f"{where[0].upper()}{where[1:]} {problem}.")
    return Credentials(public, secret)


_COPY_AGAIN = "copy it again from numer.ai (Account, API keys)"


def _key_problem(value: str) -> str | None:
    """Why ``value`` (stripped) cannot be a Numerai key and what to do, or None."""
    if not value:
        return f"is blank; {_COPY_AGAIN}"
    if not value.isascii() or not value.isprintable():
        return (
            f"holds characters that are not in Numerai's keys (printable ASCII only); {_COPY_AGAIN}"
        )
    if value[0] in "\"'" or value[-1] in "\"'":
        return ("is in quotes, which are not part of the key: remove them (a shell drops "
                "them, an env file of systemd or docker keeps them)")  # fmt: skip
    if any(c.isspace() for c in value):
        return f"holds a space, which no Numerai key has (an 'export ' in front?); {_COPY_AGAIN}"
    return None


def check_permissions(path: Path) -> None:
    """Refuse a credentials file that group or others can read or write."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        link = f" (a link to {path.resolve()})" if path.is_symlink() else ""
        raise CredentialsError(
            f"{path}{link} is accessible by other users (mode {mode:o}); refusing to read API "
            f"keys from it. Fix it with: chmod 600 {path}"
        )


_TOKEN_RE = re.compile(r"(Token\s+)\S+")
#: A URL's user name and password (up to the last @ before its path: a password may hold one)
_URL_USERINFO_RE = re.compile(r"(://)[^/\s]*@")


def redact(text: str, *secrets: str) -> str:
    """Replace ``secrets``, the keys in the environment and in the credentials file, every
    key (or webhook URL) loaded in this process, any ``Token ...`` header value and a URL's
    user name and password by ``***``."""
    known = {*secrets, *_LOADED, os.environ.get(ENV_PUBLIC, ""), os.environ.get(ENV_SECRET, "")}
    known.update(_file_secrets())
    for secret in sorted((k for k in known if len(k) >= 4), key=len, reverse=True):
        text = text.replace(secret, "***")
    return _URL_USERINFO_RE.sub(r"\1***@", _TOKEN_RE.sub(r"\1***", text))


#: The credentials file's keys as last read for :func:`redact`: (path, mtime, size) -> keys
_FILE_SECRETS: dict[tuple[str, int, int], frozenset[str]] = {}
#: A key's value on a shell line of a file (``export NUMERAI_SECRET_KEY="..."``)
_SHELL_VALUE = re.compile(rf"^\s*(?:export\s+)?(?:{ENV_PUBLIC}|{ENV_SECRET})\s*=\s*(.*)$", re.M)


def _file_secrets() -> frozenset[str]:
    """The keys in the credentials file, whether or not this process loaded them (an error
    that comes before they are needed, a config value or URL holding one, must not show
    them either); read quietly: a file that is missing or does not read gives none."""
    try:  # never raises: redact runs on every error and log line
        path = credentials_path()  # RuntimeError: no home folder to expand ~ to
        info = path.stat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > 65536:
            return frozenset()
        stamp = (str(path), info.st_mtime_ns, info.st_size)
        found = _FILE_SECRETS.get(stamp)  # another thread may clear the cache meanwhile
        if found is None:
            found = _secrets_in(path.read_text("utf-8-sig", errors="replace"))
            _FILE_SECRETS.clear()
            _FILE_SECRETS[stamp] = found
        return found
    except (OSError, RuntimeError):
        return frozenset()


_FILE_FIELDS = ("public_id", "secret_key")


def _secrets_in(text: str) -> frozenset[str]:
    """The keys a credentials file holds: its two JSON strings, or its shell lines' values."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        values = [v for k, v in data.items() if k in _FILE_FIELDS and isinstance(v, str)]
    else:
        values = [m.group(1) for m in _SHELL_VALUE.finditer(text)]
    found = {v.strip() for v in values} | {v.strip().strip("\"'") for v in values}
    return frozenset(v for v in found if len(v) >= 4)


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
