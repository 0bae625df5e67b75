"""Tortoise's asyncpg client, with a pool that skips the session reset on release.

By default asyncpg resets every connection it takes back (advisory unlock, CLOSE ALL,
UNLISTEN, RESET ALL): one more round trip for every statement run outside a
transaction, several per request. We keep no session state on pooled connections:
advisory locks are transaction-scoped (resolvers/outbox.py), nothing LISTENs (the bus
is Redis), nothing SETs. asyncpg still rolls back a transaction left open before our
(empty) reset runs."""
from __future__ import annotations

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient


async def _keep_session(connection: asyncpg.Connection) -> None:
    return None


class PooledAsyncpgClient(AsyncpgDBClient):
    async def create_pool(self, **kwargs) -> asyncpg.Pool:
        return await asyncpg.create_pool(None, reset=_keep_session, **kwargs)


client_class = PooledAsyncpgClient
