"""How a sandbox stops: SIGTERM and Ctrl-C only ask it to, and a request a stop cuts is
not reported as an error of the application."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from types import FrameType

from numerpilot.automation.stoppable import stops_to_handle


class QuietStop(logging.Filter):
    """Hide uvicorn's error line for a request that a stop cut (its task cancelled)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError))


class Asked:
    """The stop signals received (SIGINT, SIGTERM) and an event set by the first."""

    def __init__(self) -> None:
        self.signals: list[int] = []
        self.event = threading.Event()

    def __bool__(self) -> bool:
        return self.event.is_set()

    def note(self, signum: int, frame: FrameType | None) -> None:
        self.signals.append(signum)
        self.event.set()


@contextlib.contextmanager
def stop_signals() -> Iterator[Asked]:
    """SIGTERM and Ctrl-C noted in the yielded :class:`Asked` instead of raised (a SIGINT
    that the shell ignores stays ignored); the previous handlers are put back after. Off
    the main thread, which receives no signals, nothing is installed."""
    asked = Asked()
    main = threading.current_thread() is threading.main_thread()
    wanted = stops_to_handle(signal.SIGINT) if main else ()
    previous = {number: signal.signal(number, asked.note) for number in wanted}
    try:
        yield asked
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
