"""Every command registered on the app, and the mapping of failures to exit codes.

Exit codes: 0 ok, 1 user or data error, 2 usage error, 3 Numerai or the network,
130 interrupted. Expected failures print one line on stderr, never a traceback.
"""

from __future__ import annotations

import sys

from typer.exceptions import Abort, Exit, TyperException

# ruff: noqa: I001  (modules are imported in the order their commands appear in --help)
from numerpilot.cli import core, scoring, remote, daemon, model_upload  # noqa: F401
from numerpilot.cli.app import app, err_console
from numerpilot.errors import NumerpilotError

__all__ = ["app", "run"]


def _fail(message: str, code: int) -> None:
    from rich.text import Text

    from numerpilot.credentials import redact

    err_console.print(Text.assemble(("Error: ", "red"), redact(message)), highlight=False)
    sys.exit(code)


def run(argv: list[str] | None = None) -> None:
    """Run the command line; expected failures become one line and an exit code."""
    try:
        code = app(args=argv, standalone_mode=False)
    except NumerpilotError as error:
        _fail(str(error), error.exit_code)
    except TyperException as error:  # usage errors: unknown command/option, missing argument
        _fail(f"{error.format_message()} (see 'numerpilot --help')", 2)
    except (KeyboardInterrupt, Abort):
        code = 130
    except Exit as done:
        code = done.exit_code
    if code == 130:
        err_console.print("[yellow]Interrupted.[/yellow]")
    sys.exit(code if isinstance(code, int) else 0)
