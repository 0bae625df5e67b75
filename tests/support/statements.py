"""Counting the SQL statements the app sends (Tortoise logs each one on
`tortoise.db_client` at DEBUG)."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


class _StatementCounter(logging.Handler):
    """Statements are logged as "<sql>: <values>" or "<sql>"; connection set-up messages
    have other formats."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg in ("%s: %s", "%s") and isinstance(record.args, tuple) and record.args:
            self.statements.append(str(record.args[0]))


@contextmanager
def counting_statements() -> Iterator[list[str]]:
    """The statements sent while the block runs, in this process (servers included)."""
    logger = logging.getLogger("tortoise.db_client")
    counter, level = _StatementCounter(), logger.level
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    try:
        yield counter.statements
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)
