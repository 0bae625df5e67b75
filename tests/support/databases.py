"""PostgreSQL databases for tests, created beside the configured one and always dropped.

Every database made here is remembered until it is dropped, so a session can drop what
an interrupted test left (`drop_remaining`) without touching databases of other runs
that share the server."""
from __future__ import annotations

import asyncio
import uuid

import asyncpg

_created: dict[str, str] = {}  # url -> admin DSN, until dropped


def admin_dsn(url: str) -> str:
    """The maintenance database of the server `url` names (asyncpg's spelling)."""
    root, _, _ = url.rpartition("/")
    return root.replace("postgres://", "postgresql://", 1) + "/postgres"


async def create_database(base_url: str, template: str | None = None) -> str:
    """An empty database (or a copy of the database `template`) beside the one `base_url`
    names; returns its URL."""
    name = f"teaminbox_test_{uuid.uuid4().hex[:12]}"
    url = f"{base_url.rpartition('/')[0]}/{name}"
    connection = await asyncpg.connect(admin_dsn(base_url), timeout=10)
    try:
        copy = f' TEMPLATE "{template}"' if template else ""
        await connection.execute(f'CREATE DATABASE "{name}"{copy}')
    finally:
        await connection.close()
    _created[url] = admin_dsn(base_url)
    return url


async def drop_database(url: str) -> None:
    """Drop the database `url` names, closing whatever is still connected to it."""
    connection = await asyncpg.connect(admin_dsn(url), timeout=10)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')
    finally:
        await connection.close()
    _created.pop(url, None)


def database_name(url: str) -> str:
    return url.rpartition("/")[2].partition("?")[0]


def drop_remaining(server_url: str) -> list[str]:
    """Drop every database created here on the server `server_url` names and not dropped
    yet (databases of private servers go with their server); returns their URLs."""
    remaining = [url for url, dsn in _created.items() if dsn == admin_dsn(server_url)]
    for url in remaining:
        asyncio.run(drop_database(url))
    return remaining
