"""The daemon's stop signals when its parent ignored some of them (nohup, a background job)."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator

import pytest

from numerpilot.automation.stoppable import stop_signals, stops_to_handle
from numerpilot.sandbox.stopping import stop_signals as sandbox_stop_signals


@pytest.fixture
def restored() -> Iterator[None]:
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGHUP)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.mark.usefixtures("restored")
def test_signals_ignored_as_it_started_stay_ignored() -> None:
    """``nohup numerpilot daemon &``: closing the terminal (SIGHUP) stopped the daemon nohup
    was asked to keep running; a SIGINT that a background job ignores was ignored in its
    first second and stopped it afterwards. Both stay ignored; SIGTERM stops it."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    heard: list[int] = []
    with stop_signals(heard.append, threading.Event()):
        os.kill(os.getpid(), signal.SIGHUP)
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
    assert heard == [signal.SIGTERM]
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN  # as before the block


@pytest.mark.usefixtures("restored")
def test_signals_not_ignored_stop_it() -> None:
    signal.signal(signal.SIGHUP, signal.SIG_DFL)  # as in a terminal, whatever ran the tests
    signal.signal(signal.SIGINT, signal.default_int_handler)
    heard: list[int] = []
    with stop_signals(heard.append, threading.Event()):
        for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
            os.kill(os.getpid(), sig)
    assert heard == [signal.SIGHUP, signal.SIGINT, signal.SIGTERM]


@pytest.mark.usefixtures("restored")
def test_the_daemon_and_the_sandbox_share_which_signals_they_handle() -> None:
    """One rule for both (they repeated it): SIGTERM always, the others unless ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    assert stops_to_handle(signal.SIGINT, signal.SIGHUP) == (signal.SIGTERM, signal.SIGHUP)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    assert stops_to_handle(signal.SIGINT) == (signal.SIGTERM, signal.SIGINT)


@pytest.mark.usefixtures("restored")
def test_the_sandbox_keeps_an_ignored_sigint_ignored() -> None:
    """``numerpilot sandbox serve &`` from a shell without job control: SIGINT stays
    ignored, SIGTERM asks it to stop; off the main thread nothing is installed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with sandbox_stop_signals() as asked:
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
    assert asked.signals == [signal.SIGTERM]
    assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with sandbox_stop_signals() as asked:
        os.kill(os.getpid(), signal.SIGINT)
    assert asked.signals == [signal.SIGINT]
    installed: list[object] = []

    def off_main() -> None:
        with sandbox_stop_signals():
            installed.append(signal.getsignal(signal.SIGTERM))

    before = signal.getsignal(signal.SIGTERM)
    worker = threading.Thread(target=off_main)
    worker.start()
    worker.join()
    assert installed == [before]
