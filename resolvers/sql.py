"""Hand-written statements of the write path, in the connection's placeholder style
(PostgreSQL `$n`, SQLite `?`)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

M = TypeVar("M", bound=Model)


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


def prefixed_columns(model: type[Model], table: str, prefix: str) -> str:
    """`table."column" AS prefixcolumn, ...` for every column of `model`: one row of a join
    can hold several models' columns, each read back with `model_from_row`."""
    return ", ".join(f'{table}."{column}" AS {prefix}{column}' for column in model._meta.db_fields)


def model_from_row(model: type[M], row: dict[str, Any], prefix: str) -> M:
    """The model instance a joined row holds under `prefix`. Tortoise's own constructor for
    fetched rows: each column is converted as a query would."""
    return model._init_from_db(**{column: row[prefix + column] for column in model._meta.db_fields})
