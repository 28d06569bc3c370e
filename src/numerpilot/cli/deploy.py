"""CLI commands: deploy (registered on import)."""

from __future__ import annotations
