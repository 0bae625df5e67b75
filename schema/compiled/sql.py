"""Raw SQL for the compiled operations, written once for SQLite and PostgreSQL: only
the placeholders differ, and rows come back through the models' own field conversions
so values (datetimes above all) are exactly what the ORM would have produced."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from models import Conversation

_to_datetime = Conversation._meta.fields_map["last_activity_at"].to_python_value


class Statement:
    """Builds one statement's text and parameters in the connection's placeholder style.
    Take parameters in the order their placeholders appear in the text (SQLite's `?`
    are positional)."""

    def __init__(self, connection: BaseDBAsyncClient):
        self.connection = connection
        self._numbered = connection.capabilities.dialect == "postgres"
        self.params: list[Any] = []

    def param(self, value: Any) -> str:
        self.params.append(value)
        return f"${len(self.params)}" if self._numbered else "?"

    def in_list(self, values: Sequence[Any]) -> str:
        """`(p1, p2, …)` for `column IN …`; never empty (an impossible id instead)."""
        return "(" + ", ".join(self.param(value) for value in (values or [0])) + ")"

    async def rows(self, sql: str) -> list[dict[str, Any]]:
        return await self.connection.execute_query_dict(sql, self.params)


def connection() -> BaseDBAsyncClient:
    return connections.get("default")


def as_datetime(value: Any) -> datetime:
    """SQLite hands back text, PostgreSQL a datetime: both become the ORM's value."""
    return _to_datetime(value)
