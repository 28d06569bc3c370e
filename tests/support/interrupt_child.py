"""``python interrupt_child.py READY TARGET ARGS...``: numerpilot, held at one point for Ctrl-C.

TARGET names where the process waits: ``import:typer`` (while numerpilot starts, inside
its first import of typer), ``atexit`` (while Python shuts down, after the command and its
own exit handlers), ``module:function@N`` (at the Nth call of that function;
earlier calls run normally) or ``module:function~TEXT`` (at its first call with an
argument that contains TEXT). On arriving there the process writes READY and waits until
the test deletes it; the test sends SIGINT first, so the wait ends with Ctrl-C's
KeyboardInterrupt, or, where numerpilot defers Ctrl-C, when the file is gone. No timing
is involved: the test acts only once the process says where it is.
"""

from __future__ import annotations

import atexit
import builtins
import importlib
import signal
import sys
import time
from pathlib import Path
from typing import Any


def _wait_for_interrupt(ready: Path) -> None:
    ready.write_text("ready", encoding="utf-8")
    while ready.exists():
        time.sleep(0.01)


def _hold_import(ready: Path, name: str) -> None:
    original = builtins.__import__

    def hooked(module: str, *args: Any, **kwargs: Any) -> Any:
        if module == name:
            builtins.__import__ = original
            _wait_for_interrupt(ready)
        return original(module, *args, **kwargs)

    builtins.__import__ = hooked


def _hold_call(ready: Path, target: str) -> None:
    where, _, text = target.partition("~")
    where, _, nth = where.partition("@")
    module_name, function_name = where.split(":")
    module = importlib.import_module(module_name)
    real = getattr(module, function_name)
    calls = [0]

    def held(*args: Any, **kwargs: Any) -> Any:
        if text:
            hit = any(text in str(arg) for arg in args) and not calls[0]
        else:
            hit = calls[0] + 1 == int(nth or 1)
        calls[0] += 1 if (hit or not text) else 0
        if hit:
            _wait_for_interrupt(ready)
        return real(*args, **kwargs)

    setattr(module, function_name, held)


def main() -> None:
    ready, target, *args = sys.argv[1:]
    # A shell that started the test suite in the background may have left SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if target == "atexit":  # registered first: runs after every later exit handler
        atexit.register(_wait_for_interrupt, Path(ready))
    elif target.startswith("import:"):
        _hold_import(Path(ready), target.removeprefix("import:"))
    else:
        _hold_call(Path(ready), target)
    sys.argv = ["numerpilot", *args]
    from numerpilot.cli import main as numerpilot

    numerpilot()


if __name__ == "__main__":
    main()
