"""CLI commands: scoring (registered on import)."""

from __future__ import annotations
