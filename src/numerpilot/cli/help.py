"""Help text as click has always printed it: ``PRED``, ``[PREDICTIONS]``, ``--model NAME``.

typer 0.2x prints ``{pred}`` for a required argument, ``<bool>`` after every flag and
``<list[str]>``, ``<path>`` after options. :func:`classic_help` switches those three
renderings back to plain metavars; with older typer (which renders them the classic way
already) it changes nothing.
"""

from __future__ import annotations

from typing import Any

_TYPE_NAMES = {"int": "INTEGER", "float": "NUMBER", "str": "TEXT", "path": "PATH"}


def _type_name(label: str | None) -> str | None:
    """``<list[str]>`` -> ``TEXT``, ``<path>`` -> ``PATH``, ``<a|b>`` stays a choice."""
    if not label:
        return label
    bare = label.strip("<>")
    if bare.startswith("list[") and bare.endswith("]"):
        bare = bare[len("list[") : -1]
    if "|" in bare:
        return f"[{bare}]"
    return _TYPE_NAMES.get(bare, bare.upper())


def _usage_name(self: Any) -> str:
    """An argument in the usage line: ``PRED``, or ``[PREDICTIONS]`` when optional."""
    name = str(self.metavar or self.name or "").upper()
    if not self.required:
        name = f"[{name}]"
    return name + ("..." if self.nargs != 1 else "")


def _display_type(self: Any, ctx: Any) -> str | None:
    """What follows an option in the help: nothing for a flag, else its metavar or type."""
    if getattr(self, "is_flag", False) or getattr(self, "count", False):
        return None
    if getattr(self, "param_type_name", "") == "option" and self.metavar is not None:
        return str(self.metavar)
    return _type_name(self.display_type(ctx))


def _display_name(self: Any) -> str:
    return str(self.metavar or self.name or "").upper()


def classic_help() -> None:
    """Render typer's help with click's classic metavars (idempotent)."""
    from typer import core

    argument = getattr(core, "TyperArgument", None)
    option = getattr(core, "TyperOption", None)
    if argument is None or option is None or not hasattr(argument, "_usage_display_name"):
        return  # an older typer: it prints classic metavars already
    argument._usage_display_name = _usage_name
    argument.display_name_raw = property(_display_name)
    for cls in (argument, option):
        if hasattr(cls, "display_type_rich") and hasattr(cls, "display_type"):
            cls.display_type_rich = _display_type
