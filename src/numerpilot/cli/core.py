"""CLI commands: init, demo-data, train, validate, predict, run."""

from __future__ import annotations
