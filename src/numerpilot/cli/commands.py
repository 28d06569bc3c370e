"""Every command registered on the app, and the mapping of failures to exit codes.

Exit codes: 0 ok, 1 user or data error (and what this machine refused: a full disk, a
folder that is not writable), 2 usage error, 3 Numerai or the network, 70 a bug in
numerpilot, 130 interrupted. Expected failures print one line on stderr, never a
traceback; a bug prints its traceback, with every key redacted.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

from typer.exceptions import Abort, TyperException

# ruff: noqa: I001  (modules are imported in the order their commands appear in --help)
from numerpilot.cli import core, models, scoring, cv, remote, daemon, model_upload  # noqa: F401
from numerpilot.cli.app import app, err_console, fit_consoles, usage_message
from numerpilot.cli.interrupt_notes import interrupt_note
from numerpilot.errors import OUT_OF_MEMORY, NumerpilotError, from_os_error

__all__ = ["Said", "app", "run"]

INTERRUPTED = 130
#: A bug (sysexits' EX_SOFTWARE): not 1, which says "fix your input" (a service manager
#: told not to restart on 1 restarts after this).
CRASHED = 70


def _fail(message: str, code: int) -> int:
    from rich.text import Text

    from numerpilot.credentials import redact

    line = " ".join(redact(message).split())  # one line, whatever the message holds
    err_console.print(Text.assemble(("Error: ", "red"), line), highlight=False, soft_wrap=True)
    return code


def interrupted() -> int:
    """Say so on stderr, with what was kept where the command knows (one line); the exit
    code of an interrupted command."""
    from rich.text import Text

    note = interrupt_note()
    line = Text.assemble(("Interrupted.", "yellow"), f" {note}" if note else "")
    err_console.print(line, soft_wrap=True, highlight=False)
    return INTERRUPTED


def _usage(error: TyperException) -> int:
    if type(error).__name__ == "NoArgsIsHelpError":  # the help was printed already
        return 2
    return _fail(usage_message(error), 2)


class Said(Exception):  # noqa: N818  (not an error: an exit)
    """Exit with ``exit_code``, printing nothing: the command said how it ended
    (``daemon --log-json`` says even 'Interrupted.' as a JSON line, for the log's parser).
    Not a typer Exit, which typer turns into a plain exit code."""

    def __init__(self, exit_code: int) -> None:
        super().__init__(exit_code)
        self.exit_code = exit_code


def invoke(argv: list[str] | None = None) -> int:
    """Run one command; returns its exit code (expected failures print one line).

    A Ctrl-C while it runs ends it as interrupted, even one that Python could not raise
    where it landed (a finalizer, a weakref or GC callback) and the command finished."""
    fit_consoles()
    interrupt_note(reset=True)
    with _noting_interrupts() as pressed:
        outcome = _attempt(argv)
    if isinstance(outcome, Said):
        return outcome.exit_code
    if pressed or isinstance(outcome, (KeyboardInterrupt, Abort)):
        return interrupted()
    if isinstance(outcome, NumerpilotError):
        return _fail(str(outcome), outcome.exit_code)
    if isinstance(outcome, TyperException):  # unknown command or option, missing argument
        return _usage(outcome)
    if isinstance(outcome, OSError):  # a full disk, a read-only folder, ...
        local = from_os_error(outcome)
        return _fail(str(local), local.exit_code)
    if isinstance(outcome, MemoryError):
        return _fail(OUT_OF_MEMORY, 1)
    if isinstance(outcome, BaseException):  # not one of _EXPECTED: none is returned
        raise outcome
    return interrupted() if outcome == INTERRUPTED else outcome


#: What :func:`_attempt` returns to report, rather than raises.
_EXPECTED = (Said, NumerpilotError, TyperException, KeyboardInterrupt, Abort, OSError,
             MemoryError)  # fmt: skip


def _attempt(argv: list[str] | None) -> int | BaseException:
    """Run the app: its exit code, or the expected failure it raised (reported by
    :func:`invoke` once Ctrl-C is Python's again)."""
    try:
        code = app(args=argv, prog_name="numerpilot", standalone_mode=False)  # typer.Exit: its code
    except _EXPECTED as error:
        return error
    return code if isinstance(code, int) else 0


@contextlib.contextmanager
def _noting_interrupts() -> Iterator[list[int]]:
    """Note each Ctrl-C in the yielded list, and still raise it: one raised where Python
    only reports it ('Exception ignored in ...: KeyboardInterrupt', a GC callback) is noted
    and not reported. Only where Ctrl-C is Python's own (the main thread, not ignored by
    the shell that started numerpilot); a command's own handler (the daemon's) goes first."""
    pressed: list[int] = []
    previous_hook = sys.unraisablehook

    def note(signum: int, frame: FrameType | None) -> None:
        pressed.append(signum)
        raise KeyboardInterrupt

    def unraisable(report: Any) -> None:
        if report.exc_type is not None and issubclass(report.exc_type, KeyboardInterrupt):
            pressed.append(signal.SIGINT)
        else:
            previous_hook(report)

    ours = (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    )
    sys.unraisablehook = unraisable
    if ours:
        signal.signal(signal.SIGINT, note)
    try:
        yield pressed
    finally:
        if ours:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.unraisablehook = previous_hook


def run(argv: list[str] | None = None) -> None:
    """Run the command line and exit with its code."""
    try:
        code = invoke(argv)
    except KeyboardInterrupt:  # while printing the outcome
        code = INTERRUPTED
        with contextlib.suppress(KeyboardInterrupt):
            interrupted()
    except Exception as error:  # a bug: none of the failures invoke reports
        code = _crashed(error)
    _done()
    sys.exit(code)


def _crashed(error: Exception) -> int:
    """Print a bug's traceback (keys redacted, as in every line numerpilot prints) and how
    to report it; the exit code of a crash."""
    import traceback

    from numerpilot.credentials import redact

    sys.stderr.write(redact("".join(traceback.format_exception(error))))
    return _fail(f"numerpilot failed unexpectedly ({type(error).__name__}): this is a bug; "
                 "please report it with the traceback above. Nothing was half-written (every "
                 "file is written whole or not at all).", CRASHED)  # fmt: skip


@functools.cache  # once per process
def _done() -> None:
    """The command is over and has said so: a Ctrl-C while Python shuts down (about half a
    second of freeing memory after a large job) is ignored, so that the exit code is the
    command's, not a kill by SIGINT after the outcome was printed. Set at exit, so that a
    process that runs commands in-process (the tests) keeps its own Ctrl-C until then."""
    atexit.register(_ignore_interrupts)


def _ignore_interrupts() -> None:
    with contextlib.suppress(ValueError):  # not in the main thread
        signal.signal(signal.SIGINT, signal.SIG_IGN)
