"""The ``numerpilot`` command line: parse, call one service, render with rich."""

from __future__ import annotations

from numerpilot.cli import core, deploy, remote, scoring  # noqa: F401  (register commands)
from numerpilot.cli.app import app, main

__all__ = ["app", "main"]
