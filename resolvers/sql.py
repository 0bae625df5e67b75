"""Hand-written statements of the write path, in the connection's placeholder style
(PostgreSQL `$n`, SQLite `?`)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient


def placeholder(connection: BaseDBAsyncClient, index: int) -> str:
    """The placeholder of the parameter at `index` (0-based)."""
    return f"${index + 1}" if connection.capabilities.dialect == "postgres" else "?"


def values_rows(connection: BaseDBAsyncClient, rows: Sequence[Sequence[Any]]) -> tuple[str, list[Any]]:
    """`(…), (…)` for a multi-row VALUES list, and its parameters in order."""
    params: list[Any] = []
    groups = []
    for row in rows:
        start = len(params)
        params += row
        groups.append("(" + ", ".join(placeholder(connection, start + i) for i in range(len(row))) + ")")
    return ", ".join(groups), params
