"""Reading ``numerpilot.toml`` into a :class:`~numerpilot.config.Config`, and saying what
is wrong with a file that does not make one: the key, the line, the likely typo, what to do.
"""

from __future__ import annotations

import difflib
import errno
import logging
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from numerpilot.config import CONTRADICTION, Config
from numerpilot.errors import ConfigError

log = logging.getLogger(__name__)


def _describe(error: ValidationError, source: Path) -> str:
    problems = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"])
        if item["type"] == "extra_forbidden":
            problems.append(_unknown_key(key, item["loc"]))
        elif item["type"] == "model_type":  # a section given as a value (lightgbm = 3)
            got = _shown(key, item.get("input"))
            problems.append(f"{key}: must be a section ([{key}] on a line of its own, then "
                            f"its keys), not a value (got {got})")  # fmt: skip
        elif item["type"] in ("reserved_key", CONTRADICTION):  # it names keys and values
            problems.append(str(item["msg"]))
        else:
            message = str(item["msg"]).removeprefix("Value error, ")
            got = _shown(key, item.get("input"))
            said = message.startswith(got) or (
                key in _SECRET_KEYS and item["type"] == "value_error"
            )
            problems.append(f"{key}: {message}" + ("" if said else f" (got {got})"))
    return f"{source}: invalid configuration: " + "; ".join(problems)


#: Keys whose values are not quoted in an error: a webhook URL is its own token.
_SECRET_KEYS = ("daemon.alert_webhook",)


def _shown(key: str, value: object) -> str:
    """A configured value as an error quotes it: never a secret, never a URL's password."""
    from numerpilot.credentials import redact

    if key in _SECRET_KEYS:
        return f"a {type(value).__name__}, not shown"
    return redact(repr(value))


def _unknown_key(key: str, loc: tuple[int | str, ...]) -> str:
    """An unknown key, with the key it may be a typo of, or the section it belongs in."""
    section = _section_for(loc[:-1])
    allowed = list(section.model_fields) if section else []
    name, where = str(loc[-1]), ".".join(str(part) for part in loc[:-1])
    return (
        f"unknown key '{key}'{_key_hint(name, where, allowed)} (allowed here: {', '.join(allowed)})"
    )


#: Unknown keys (or sections) that look like API keys written into the config.
_API_KEY_NAME = re.compile(r"public|secret|api_?key|credential|token", re.IGNORECASE)


def _key_hint(name: str, where: str, allowed: list[str]) -> str:
    """The hint after an unknown key: where API keys go, for one that looks like one; a key
    (or a section) close to ``name`` in its own section ``where``, else the other sections
    that have it, or a key close to it there."""
    from numerpilot.credentials import DEFAULT_PATH, ENV_PUBLIC, ENV_SECRET

    if _API_KEY_NAME.search(name):
        return (f": API keys never go in numerpilot.toml (remove it, and its value from the "
                f"file): put them in {DEFAULT_PATH} (mode 600) or set {ENV_PUBLIC} and "
                f"{ENV_SECRET}")  # fmt: skip
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.75)
    if close:
        return f": did you mean {f'[{close[0]}]' if not where else repr(close[0])}?"
    others = {s: _fields_of(f.annotation) for s, f in Config.model_fields.items() if s != where}
    homes = [f"[{s}]" for s, fields in others.items() if name in fields]
    if homes:
        return f": it belongs under {' or '.join(homes)}"
    for section, fields in others.items():
        near = difflib.get_close_matches(name, list(fields), n=1, cutoff=0.85)
        if near:
            return f": did you mean '{near[0]}' under [{section}]?"
    return ""


def _fields_of(annotation: object) -> dict[str, Any]:
    """The fields of a section's model (none for anything else)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return dict(annotation.model_fields)
    return {}


def _section_for(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] = Config
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def parse_config(raw: dict[str, Any], source: Path) -> Config:
    try:
        return Config.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(_describe(error, source)) from None


#: The way out of a broken config file, beside fixing it.
RECREATE = "re-create it with 'numerpilot init --force'"


def load_config(path: Path, *, instead: str = RECREATE) -> Config:
    """Load and validate a ``numerpilot.toml``; a missing file means all defaults.
    ``instead``: what else to do with a file that is not TOML or UTF-8 (a config given
    with --compare is not the one ``init --force`` writes)."""
    if path.is_symlink() and not path.exists():
        raise ConfigError(
            f"{path} is a link to {path.readlink()}, which does not exist. Point it at your "
            "numerpilot.toml, or remove it to use the defaults."
        )
    if not path.exists():
        return Config()
    text = _config_text(path, instead)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(
            f"{path}: not valid TOML ({error}{_toml_hint(str(error), text)}). Fix the file or "
            f"{instead}."
        ) from None
    config = parse_config(raw, path)
    if config.daemon.alert_webhook:
        _warn_if_shared(path)
    return config


#: The (file, mode) pairs warned about: once per process (the daemon reads its file often).
_WARNED: set[tuple[Path, int]] = set()


def _warn_if_shared(path: Path) -> None:
    """Warn when ``path``, which holds a webhook URL (a token in itself), is readable by
    other users; like ssh, numerpilot still uses it."""
    mode = path.stat().st_mode & 0o777
    if mode & 0o044 and (path.absolute(), mode) not in _WARNED:
        _WARNED.add((path.absolute(), mode))
        log.warning("%s holds [daemon] alert_webhook, a token, and other users can read it "
                    "(mode %o). Fix it with: chmod 600 %s", path, mode, path)  # fmt: skip


def _config_text(path: Path, instead: str) -> str:
    """The text of ``path``; a folder, a file this user cannot read or one that is not
    UTF-8 is refused with what to do."""
    if path.is_dir():
        raise ConfigError(
            f"{path} is a folder; numerpilot reads its settings from a file of that name. "
            "Move the folder away, then write the file with 'numerpilot init'."
        )
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: {_not_utf8(error)}. Save it as UTF-8 or {instead}.") from None
    except OSError as error:
        if error.errno not in (errno.EACCES, errno.EPERM):
            raise
        raise ConfigError(
            f"{path} cannot be read (permission denied). Make it readable by the user who "
            f"runs numerpilot, e.g.: chmod u+r {path}"
        ) from None


def _not_utf8(error: UnicodeDecodeError) -> str:
    """What the file is instead of UTF-8: UTF-16 (Windows' "Unicode"), or the first byte
    that is not UTF-8."""
    if error.object[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return 'UTF-16 text (Windows\' "Unicode"), not UTF-8'
    return f"not UTF-8 text (byte 0x{error.object[error.start]:02x} at position {error.start})"


#: tomllib's words for a key or a table defined twice.
_TWICE = ("Cannot overwrite a value", "Cannot declare")
_TABLE = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


def _toml_hint(message: str, text: str) -> str:
    """What a TOML error means for a numerpilot.toml: for a key or a [section] given
    twice, which one and on which lines (tomllib may say only 'at end of document');
    for a value it cannot read, how values are written."""
    if message.startswith("Invalid value"):
        return '; text values need "quotes", true and false are lowercase'
    if message.startswith(_TWICE):
        return _given_twice(text)
    return ""


def _given_twice(text: str) -> str:
    """The first key or [section] of ``text`` given twice, with its two lines."""
    seen: dict[str, int] = {}
    table = ""
    for number, line in enumerate(text.splitlines(), start=1):
        header, key = _TABLE.match(line), _KEY.match(line)
        name = f"[{header.group(1)}]" if header else (f"{table}{key.group(1)}" if key else "")
        if header:
            table = f"{header.group(1)}."
        if line.lstrip().startswith("[["):  # each [[table]] has keys of its own
            seen = {k: n for k, n in seen.items() if not k.startswith(table)}
        elif name in seen:
            shown = name if header else f"'{name}'"
            return f": {shown} is given twice, on lines {seen[name]} and {number}; keep one"
        elif name:
            seen[name] = number
    return ": a key or a [section] is given twice; keep one"
