"""The one exception the API layer raises for remote failures."""

from __future__ import annotations

from numerpilot.credentials import redact
from numerpilot.errors import RemoteError


class NumeraiAPIError(RemoteError):
    """The Numerai API (or the network) failed; the message is readable and redacted.

    ``auth`` is True when the keys were rejected; ``retryable`` when trying again later
    may help (network trouble, 5xx answers); ``uncertain`` when a request that changes
    state (a mutation) may have been carried out although no answer arrived: check on
    Numerai before sending it again; ``answered`` with it when the server did answer (a 5xx,
    an answer without the result): it has finished with the request, so what Numerai lists
    now is its outcome (a lost answer's request may still be running there).
    """

    def __init__(
        self,
        message: str,
        *,
        auth: bool = False,
        retryable: bool = False,
        uncertain: bool = False,
        answered: bool = False,
    ) -> None:
        super().__init__(redact(message))
        self.auth = auth
        self.retryable = retryable
        self.uncertain = uncertain
        self.answered = answered
