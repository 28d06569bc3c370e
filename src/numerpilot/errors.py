"""One exception family whose messages tell the user what to do next.

The CLI maps each class to an exit code: 1 user or data error, 2 usage, 3 remote failure.
"""

from __future__ import annotations


class NumerpilotError(Exception):
    """Base class of every expected numerpilot failure (exit code 1)."""

    exit_code = 1


class ConfigError(NumerpilotError):
    """The configuration file is missing, malformed or holds a bad value."""


class DataError(NumerpilotError):
    """Input data is missing, incomplete or inconsistent with the model."""


class CredentialsError(NumerpilotError):
    """API keys are missing or stored unsafely."""


class SubmissionError(NumerpilotError):
    """A submission breaks Numerai's rules or was already made."""


class UsageError(NumerpilotError):
    """A command was called with arguments that cannot work together."""

    exit_code = 2


class RemoteError(NumerpilotError):
    """The Numerai API or the network failed (exit code 3)."""

    exit_code = 3
