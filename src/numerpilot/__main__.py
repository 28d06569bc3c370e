"""``python -m numerpilot``: the same as the ``numerpilot`` command."""

from numerpilot.cli import main

main()
