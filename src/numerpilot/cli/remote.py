"""CLI commands: remote (registered on import)."""

from __future__ import annotations
