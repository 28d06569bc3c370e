"""Alerts: a JSON POST to the user's webhook when a round fails or is missed.

The payload names the event, tournament, model, round and what went wrong; it never holds
a key (messages pass through the redaction step). A failing webhook is logged, never fatal,
and its URL (a token in itself) is never shown: it is redacted from every line like a key.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import requests

from numerpilot.credentials import add_secret, redact

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alert:
    """What happened (``failed``, ``missed``, ``error``) to which model in which round."""

    event: str
    tournament: str
    round: int | None
    model: str | None
    message: str

    def payload(self) -> dict[str, object]:
        body = asdict(self)
        body["message"] = redact(self.message)
        body["time"] = datetime.now(UTC).isoformat(timespec="seconds")
        body["source"] = "numerpilot"
        return body


class Alerts:
    """Sends each distinct alert once to ``webhook`` (when set) and logs it."""

    def __init__(self, webhook: str | None, timeout: float = 10.0) -> None:
        self.webhook = webhook
        self.timeout = timeout
        if webhook:
            add_secret(webhook)
        self._sent: set[tuple[str, int | None, str | None, str]] = set()

    @staticmethod
    def _key(alert: Alert) -> tuple[str, int | None, str | None, str]:
        return (alert.event, alert.round, alert.model, alert.message)

    def sent(self, alert: Alert) -> bool:
        """Whether the same alert was sent already."""
        return self._key(alert) in self._sent

    def mark_sent(self, alert: Alert) -> None:
        """Count ``alert`` as sent (another process sent it: a restart, ``daemon --once``)."""
        self._sent.add(self._key(alert))

    def send(self, alert: Alert) -> bool:
        """Log and POST the alert unless the same one was sent already; True if posted."""
        if self.sent(alert):
            return False
        self._sent.add(self._key(alert))
        fields = {"event": alert.event, "round": alert.round, "model": alert.model}
        level = logging.INFO if alert.event == "recovered" else logging.ERROR
        log.log(level, "alert (%s): %s", alert.event, redact(alert.message), extra=fields)
        if not self.webhook:
            return False
        try:
            resp = requests.post(self.webhook, json=alert.payload(), timeout=self.timeout)
            resp.raise_for_status()
        except (requests.RequestException, ValueError, OSError) as error:
            # ValueError: a URL that requests or urllib3 cannot use after all (a host label
            # over 63 characters, say); like a network fault, it must not stop the daemon
            log.warning("the alert webhook failed (%s); the alert is in this log",
                        type(error).__name__)  # fmt: skip
            return False
        return True
