"""Database set-up outside the web app: migrations (CLI and tests)."""
from __future__ import annotations

from contextlib import asynccontextmanager
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tortoise import Tortoise
from tortoise.migrations.api.migrate import migrate as tortoise_migrate

from models.db import tortoise_config


# Bounded waits on PostgreSQL while serving: asyncpg waits 60 s for a connection and
# forever for a query by default, so a hung or unreachable database hung requests (and
# /readyz) instead of failing them. Values given in the URL's query string win.
# Migrations are not bounded (they may legitimately run long).
SERVING_POSTGRES_DEFAULTS = {"timeout": "5", "command_timeout": "30"}


def serving_url(database_url: str) -> str:
    """The database URL the server uses: PostgreSQL URLs get SERVING_POSTGRES_DEFAULTS."""
    parts = urlsplit(database_url)
    if parts.scheme not in ("postgres", "asyncpg"):
        return database_url
    query = dict(parse_qsl(parts.query))
    for name, value in SERVING_POSTGRES_DEFAULTS.items():
        query.setdefault(name, value)
    return urlunsplit(parts._replace(query=urlencode(query)))


async def migrate(database_url: str) -> None:
    """Apply every pending migration (Tortoise's built-in migrations)."""
    try:
        await tortoise_migrate(config=tortoise_config(database_url))
    finally:
        await Tortoise.close_connections()


@asynccontextmanager
async def connected(database_url: str):
    """The ORM, initialised for a CLI command."""
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        yield
    finally:
        await Tortoise.close_connections()
