"""Reading a deployment's PostgreSQL directly (asyncpg), beside what its API says."""
from __future__ import annotations

from typing import Any

import asyncpg
import orjson


async def fetch_all(database_url: str, query: str, *args: Any) -> list[dict]:
    connection = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1), timeout=10)
    try:
        return [dict(row) for row in await connection.fetch(query, *args)]
    finally:
        await connection.close()


async def stored_events(database_url: str, account_id: int) -> list[dict]:
    """The account's durable event log (seq order): seq, kind, conversation_id, user_id,
    payload, created_at."""
    rows = await fetch_all(database_url, "SELECT seq, kind, conversation_id, user_id, payload, created_at FROM event "
                           "WHERE account_id = $1 ORDER BY seq", account_id)
    return [{**row, "payload": orjson.loads(row["payload"]) if isinstance(row["payload"], str) else row["payload"]}
            for row in rows]
