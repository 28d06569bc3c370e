"""How numbers read in numerpilot's messages: counts with their noun, spans of time and
clock times."""

from __future__ import annotations

from datetime import datetime


def plural(n: int, noun: str) -> str:
    """``1 era``, ``3 eras``."""
    return f"{n} {noun}{'s' * (n != 1)}"


def span(seconds: float) -> str:
    """A duration as a person reads it: ``0.033 s`` (never ``0 s`` for a wait above zero),
    ``4.5 s``, ``45 s``, ``120 s``, ``12 min``, ``3.5 h``."""
    if 0 < seconds < 1:
        return f"{seconds:.2g} s"
    if seconds < 10 and seconds != round(seconds):
        return f"{seconds:.1f} s"
    if seconds <= 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def clock_time(when: datetime, *, day: str = "%a") -> str:
    """``Sat 18:00``, with the seconds only where they are not zero (a sandbox's 30-second
    rounds: ``Sat 18:00:30``); ``day`` is the format of the part before the time."""
    time = "%H:%M" if when.second == 0 else "%H:%M:%S"
    return when.strftime(f"{day} {time}" if day else time)
