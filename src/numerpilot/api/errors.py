"""The one exception the API layer raises for remote failures."""

from __future__ import annotations

from numerpilot.credentials import redact
from numerpilot.errors import RemoteError


class NumeraiAPIError(RemoteError):
    """The Numerai API (or the network) failed; the message is readable and redacted.

    ``auth`` is True when the keys were rejected; ``retryable`` when trying again later
    may help (network trouble, 5xx answers); ``uncertain`` when a request that changes
    state (a mutation) may have been carried out although no answer arrived: check on
    Numerai before sending it again.
    """

    def __init__(
        self,
        message: str,
        *,
        auth: bool = False,
        retryable: bool = False,
        uncertain: bool = False,
    ) -> None:
        super().__init__(redact(message))
        self.auth = auth
        self.retryable = retryable
        self.uncertain = uncertain
