"""The commented ``numerpilot.toml`` that ``numerpilot init`` writes, rendered from the schema.

Every key appears with its default and its description from :mod:`numerpilot.config`, so
the file, the schema and the defaults can never disagree.
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

from pydantic import BaseModel

from numerpilot.config import Config

_HEADER = """\
# numerpilot configuration. Every key is optional; the values shown are the defaults.
# Keys and values are checked when a command starts: a typo is reported, not ignored."""


def toml_value(value: Any) -> str:
    """A TOML literal for a default (str, bool, number, list or flat dict)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items())
        return "{" + (f" {inner} " if inner else "") + "}"
    raise TypeError(f"no TOML form for {value!r}")


def _comment(text: str) -> list[str]:
    """``text`` as comment lines; words (a flag such as --allow-churn) are never split."""
    words = " ".join(text.split())
    lines = textwrap.wrap(words, 88, break_on_hyphens=False, break_long_words=False)
    return [f"# {line}" for line in lines]


def _section(name: str, model: type[BaseModel]) -> list[str]:
    lines = ["", f"[{name}]", *_comment((model.__doc__ or "").replace("``", ""))]
    for key, field in model.model_fields.items():
        if field.description:
            lines += _comment(field.description)
        default = field.get_default(call_default_factory=True)
        if default is None:
            extra = field.json_schema_extra
            example = extra.get("example") if isinstance(extra, dict) else None
            lines.append(f"# {key} = {toml_value(example)}")
        else:
            lines.append(f"{key} = {toml_value(default)}")
    return lines


def render_template() -> str:
    """The whole commented file."""
    lines = [_HEADER]
    for name, field in Config.model_fields.items():
        model = field.annotation
        assert isinstance(model, type)
        assert issubclass(model, BaseModel)
        lines += _section(name, model)
    return "\n".join(lines) + "\n"


CONFIG_TEMPLATE = render_template()
