"""Autopilot: the round daemon (every round, every model, exactly once), alerts and logs."""
