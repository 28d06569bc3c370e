"""Every command registered on the app, and the mapping of failures to exit codes.

Exit codes: 0 ok, 1 user or data error (and what this machine refused: a full disk, a
folder that is not writable), 2 usage error, 3 Numerai or the network, 130 interrupted.
Expected failures print one line on stderr, never a traceback.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import signal
import sys

from typer.exceptions import Abort, Exit, TyperException

# ruff: noqa: I001  (modules are imported in the order their commands appear in --help)
from numerpilot.cli import core, models, scoring, cv, remote, daemon, model_upload  # noqa: F401
from numerpilot.cli.app import app, err_console, fit_consoles
from numerpilot.errors import NumerpilotError, from_os_error

__all__ = ["app", "run"]

INTERRUPTED = 130
OUT_OF_MEMORY = (
    "This machine ran out of memory. Nothing was half-written; free memory, or ask for less "
    "(smaller sizes, [train] memory_gb, or data.era_step to train on every Nth era)."
)


def _fail(message: str, code: int) -> int:
    from rich.text import Text

    from numerpilot.credentials import redact

    line = " ".join(redact(message).split())  # one line, whatever the message holds
    err_console.print(Text.assemble(("Error: ", "red"), line), highlight=False, soft_wrap=True)
    return code


def interrupted() -> int:
    """Say so on stderr; the exit code of an interrupted command."""
    err_console.print("[yellow]Interrupted.[/yellow]", soft_wrap=True)
    return INTERRUPTED


def _usage(error: TyperException) -> int:
    if type(error).__name__ == "NoArgsIsHelpError":  # the help was printed already
        return 2
    return _fail(f"{error.format_message()} (see 'numerpilot --help')", 2)


def invoke(argv: list[str] | None = None) -> int:
    """Run one command; returns its exit code (expected failures print one line)."""
    fit_consoles()
    try:
        code = app(args=argv, prog_name="numerpilot", standalone_mode=False)
    except NumerpilotError as error:
        return _fail(str(error), error.exit_code)
    except TyperException as error:  # unknown command or option, missing argument, ...
        return _usage(error)
    except (KeyboardInterrupt, Abort):
        return interrupted()
    except Exit as done:
        code = done.exit_code
    except OSError as error:  # a full disk, a read-only folder, ...
        local = from_os_error(error)
        return _fail(str(local), local.exit_code)
    except MemoryError:
        return _fail(OUT_OF_MEMORY, 1)
    if code == INTERRUPTED:
        return interrupted()
    return code if isinstance(code, int) else 0


def run(argv: list[str] | None = None) -> None:
    """Run the command line and exit with its code."""
    try:
        code = invoke(argv)
    except KeyboardInterrupt:  # while printing the outcome
        code = INTERRUPTED
        with contextlib.suppress(KeyboardInterrupt):
            interrupted()
    _done()
    sys.exit(code)


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
