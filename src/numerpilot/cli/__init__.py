"""The ``numerpilot`` command line: parse, call one service, render with rich."""

# ruff: noqa: I001  (modules are imported in the order their commands appear in --help)
from __future__ import annotations

from numerpilot.cli import core, scoring, remote, deploy  # noqa: F401
from numerpilot.cli.app import app, main

__all__ = ["app", "main"]
