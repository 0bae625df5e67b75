"""Raw SQL for the compiled operations, written once for SQLite and PostgreSQL: only
the placeholders differ, and datetimes come back through the models' own field
conversion, so values are exactly what the ORM would have produced."""
from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from models import Conversation

_to_datetime = Conversation._meta.fields_map["last_activity_at"].to_python_value
# A result row: a dict on SQLite, an asyncpg Record on PostgreSQL; read by column name.
Row = Mapping[str, Any]


class Statement:
    """Builds one statement's text and parameters in the connection's placeholder style.
    Take parameters in the order their placeholders appear in the text (SQLite's `?`
    are positional)."""

    def __init__(self, postgres: bool):
        self.postgres = postgres
        self.params: list[Any] = []

    def param(self, value: Any) -> str:
        self.params.append(value)
        return f"${len(self.params)}" if self.postgres else "?"

    def is_one_of(self, values: Sequence[int]) -> str:
        """`= ANY($n)` on PostgreSQL (one statement text whatever the number of values,
        so its prepared plan is reused), `IN (?, …)` on SQLite; never empty."""
        if self.postgres:
            return f"= ANY({self.param(list(values))})"
        return "IN (" + ", ".join(self.param(value) for value in (values or [0])) + ")"


class Reader:
    """Runs one request's statements. On PostgreSQL they share one pooled connection:
    every checkout costs a reset round trip when it goes back to the pool."""

    def __init__(self, client: BaseDBAsyncClient, connection: Any = None):
        self._client = client
        self._connection = connection
        self.postgres = connection is not None

    def statement(self) -> Statement:
        return Statement(self.postgres)

    async def rows(self, statement: Statement, sql: str) -> list[Row]:
        if not self.postgres:
            return list(await self._client.execute_query_dict(sql, statement.params))
        self._client.log.debug("%s: %s", sql, statement.params)  # as Tortoise logs its own (tests count them)
        records: list[Row] = await self._connection.fetch(sql, *statement.params)
        return records


@asynccontextmanager
async def reader() -> AsyncIterator[Reader]:
    client = connections.get("default")
    if client.capabilities.dialect != "postgres":
        yield Reader(client)
        return
    async with client.acquire_connection() as connection:
        yield Reader(client, connection)


def as_datetime(value: Any) -> datetime:
    """SQLite hands back text, which becomes the ORM's value; PostgreSQL an aware UTC
    datetime, already what the ORM would make of it."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value
    converted: datetime = _to_datetime(value)
    return converted
