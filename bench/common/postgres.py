"""PostgreSQL for the benchmarks (asyncpg): connections from teaminbox's database URLs,
databases created and dropped beside a base URL, and the durable event log."""
from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import orjson


def dsn(database_url: str) -> str:
    """Tortoise's query string (pool sizes, timeouts) is not asyncpg's: drop it."""
    return urlunsplit(urlsplit(database_url)._replace(query=""))


def database_name(database_url: str) -> str:
    return urlsplit(database_url).path.lstrip("/")


def beside(database_url: str, name: str) -> str:
    """The URL of database `name` on the same server as `database_url`."""
    return urlunsplit(urlsplit(dsn(database_url))._replace(path=f"/{name}"))


@contextlib.asynccontextmanager
async def connected(database_url: str, timeout: float = 60) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(dsn(database_url), timeout=timeout)
    try:
        yield connection
    finally:
        await connection.close()


async def create_database(database_url: str, *, fresh: bool) -> None:
    """Create the database named in the URL if it is missing (`fresh`: drop it first)."""
    name = database_name(database_url)
    async with connected(beside(database_url, "postgres")) as connection:
        if fresh:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await connection.execute(f'CREATE DATABASE "{name}"')


async def scratch_database(base_url: str) -> str:
    """A new empty database beside `base_url`, for one run (drop_database it after); its URL."""
    url = beside(base_url, f"teaminbox_bench_{uuid.uuid4().hex[:12]}")
    await create_database(url, fresh=False)
    return url


async def drop_database(database_url: str) -> None:
    """Drop it, whoever is still connected; a server that is gone is not an error here."""
    with contextlib.suppress(OSError, asyncpg.PostgresError, TimeoutError):
        async with connected(beside(database_url, "postgres"), timeout=10) as connection:
            await connection.execute(f'DROP DATABASE IF EXISTS "{database_name(database_url)}" WITH (FORCE)')


async def stored_events(database_url: str, account_id: int) -> list[dict]:
    """The account's event log in seq order: seq, kind, payload (decoded) and created_at."""
    async with connected(database_url, timeout=10) as connection:
        rows = await connection.fetch(
            "SELECT seq, kind, payload, created_at FROM event WHERE account_id = $1 ORDER BY seq", account_id)
    return [{"seq": seq, "kind": kind, "payload": orjson.loads(payload), "created_at": created_at}
            for seq, kind, payload, created_at in rows]
