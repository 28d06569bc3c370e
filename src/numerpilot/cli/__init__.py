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
        sys.stderr.write(_interrupted_line(sys.argv[1:]))
        sys.exit(130)
    run()


def _interrupted_line(args: list[str]) -> str:
    """ "Interrupted." as the command would say it: a JSON line for ``daemon --log-json``,
    whose log a parser reads line by line (as :class:`~numerpilot.automation.logs.
    JsonFormatter` writes them; that module is not imported yet)."""
    if "daemon" not in args or "--log-json" not in args:
        return "Interrupted.\n"
    import json
    from datetime import UTC, datetime

    now = datetime.now(UTC).isoformat(timespec="seconds")
    return json.dumps({"time": now, "level": "warning", "logger": "numerpilot.cli.daemon",
                       "message": "Interrupted.", "event": "interrupted"}) + "\n"  # fmt: skip
