"""Warnings held back while a check runs: said once it passes, dropped when it refuses.

A command that refuses its input says one line, what is wrong and what to do; a warning
logged on the way (ids Numerai would ignore, infinite targets counted as missing) would
make it two, about an input that is not used anyway.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator


@contextlib.contextmanager
def held(*loggers: logging.Logger) -> Iterator[None]:
    """Hold back what ``loggers`` log while the block runs: logged, in order, once it ends
    without an error; dropped when it raises."""
    records: list[logging.LogRecord] = []

    def hold(record: logging.LogRecord) -> bool:
        records.append(record)
        return False

    for logger in loggers:
        logger.addFilter(hold)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(hold)
    for record in records:
        logging.getLogger(record.name).handle(record)
