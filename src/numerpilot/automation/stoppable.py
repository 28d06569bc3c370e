"""Work that may be cut at any point, because it is thrown away whole when it is (a retrain:
the models in use stay): a stop request or a deadline raises :class:`Stopped` inside it."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType


class Stopped(BaseException):
    """Raised into stoppable work (a BaseException, like Ctrl-C's: no ``except Exception``
    on the way swallows it)."""


class Stoppable:
    """Marks when stoppable work runs; :meth:`stop` (from a signal handler) cuts it."""

    def __init__(self) -> None:
        self.running = False

    def stop(self, why: str) -> None:
        """Raise :class:`Stopped` if stoppable work is running (else nothing)."""
        if self.running:
            raise Stopped(why)

    @contextlib.contextmanager
    def within(self, seconds: float, why: str) -> Iterator[None]:
        """Run the block as stoppable work, cut with ``why`` after ``seconds`` (an alarm:
        in the main thread only; elsewhere only :meth:`stop` cuts it)."""
        main = threading.current_thread() is threading.main_thread()

        def due(signum: int, frame: FrameType | None) -> None:
            raise Stopped(why)

        previous = signal.signal(signal.SIGALRM, due) if main else None
        if main:
            signal.setitimer(signal.ITIMER_REAL, seconds)
        self.running = True
        try:
            yield
        finally:
            self.running = False
            if main:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)


def stops_to_handle(*optional: signal.Signals) -> tuple[signal.Signals, ...]:
    """SIGTERM (``kill PID``: it always stops), and those of ``optional`` this process did not
    start with ignored: under ``nohup`` (SIGHUP) or started in the background by a shell
    without job control (SIGINT), they stay ignored, as the parent asked, for the whole run
    (not only until the handlers are in place)."""
    return (signal.SIGTERM, *(s for s in optional if signal.getsignal(s) != signal.SIG_IGN))


@contextlib.contextmanager
def stop_signals(stop: Callable[[int], None], stopping: threading.Event) -> Iterator[None]:
    """SIGTERM, SIGHUP (the terminal closed) and SIGINT call ``stop(signum)`` (SIGHUP and
    SIGINT not when ignored as the process started: :func:`stops_to_handle`); a SIGINT once
    ``stopping`` is set interrupts at once. The previous handlers come back after the block."""

    def handle(signum: int, frame: FrameType | None) -> None:
        if stopping.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop(signum)

    saved = {
        sig: signal.signal(sig, handle) for sig in stops_to_handle(signal.SIGINT, signal.SIGHUP)
    }
    try:
        yield
    finally:
        for sig, previous in saved.items():
            signal.signal(sig, previous)
