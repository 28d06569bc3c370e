"""The ``numerpilot`` command line: parse, call one service, render with rich.

This module imports nothing at start-up, so that Ctrl-C at any moment (even while Python
is still importing) ends with one line and exit code 130.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Console entry point (see :func:`numerpilot.cli.commands.run`)."""
    try:
        from numerpilot.cli.commands import run
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        sys.exit(130)
    run()
