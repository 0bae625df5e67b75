"""Tortoise's asyncpg client, with a pool that skips the session reset on release.

By default asyncpg resets every connection it takes back (advisory unlock, CLOSE ALL,
UNLISTEN, RESET ALL): one more round trip for every statement run outside a
transaction, several per request. We keep no session state on pooled connections:
advisory locks are transaction-scoped (resolvers/outbox.py), nothing LISTENs (the bus
is Redis), nothing SETs. asyncpg still rolls back a transaction left open before our
(empty) reset runs."""
from __future__ import annotations

from typing import Any

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient


async def _keep_session(connection: asyncpg.Connection[asyncpg.Record]) -> None:
    return None


class PooledAsyncpgClient(AsyncpgDBClient):
    # The keyword arguments are Tortoise's connection template (host, port, user, pool
    # sizes, ...), passed through to asyncpg as the base class does.
    async def create_pool(self, **kwargs: Any) -> asyncpg.Pool[asyncpg.Record]:
        return await asyncpg.create_pool(None, reset=_keep_session, **kwargs)


client_class = PooledAsyncpgClient
