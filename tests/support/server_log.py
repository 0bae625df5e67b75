"""What the server logs that is a failure of its own: a record at ERROR or above, or any
record with a traceback, from any logger (our modules', uvicorn's ASGI runner, asyncio's
unretrieved task exceptions, Strawberry's: schema/app.py has it log only the errors that
are failures, not every error it answers a client with)."""
from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


@contextmanager
def capturing_failures(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Records from WARNING up, for the whole test. uvicorn's loggers do not propagate to
    the root (its logging config), so the capture is attached to them directly."""
    uvicorn = logging.getLogger("uvicorn")
    uvicorn.addHandler(caplog.handler)
    caplog.set_level(logging.WARNING)
    try:
        yield
    finally:
        uvicorn.removeHandler(caplog.handler)


def failures(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    return [
        record for record in records
        if record.levelno >= logging.ERROR or record.exc_info
    ]


# Where Strawberry logs the errors it answers (only failures of ours: schema/app.py).
ANSWERED_ERRORS_LOGGER = "strawberry.execution"


def answered_tracebacks(records: list[logging.LogRecord]) -> list[str]:
    """The tracebacks Strawberry logged with the errors it answered: where a masked
    error came from."""
    return [
        "".join(traceback.format_exception(*record.exc_info))
        for record in records if record.name.startswith(ANSWERED_ERRORS_LOGGER) and record.exc_info
    ]


def described(records: list[logging.LogRecord]) -> list[str]:
    """Each record as a line, with its traceback if it has one: an assertion's message."""
    lines = []
    for record in records:
        line = f"{record.name} {record.levelname}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + "".join(traceback.format_exception(*record.exc_info))
        lines.append(line)
    return lines
