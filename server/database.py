"""Database set-up outside the web app: migrations (CLI and tests)."""
from __future__ import annotations

from collections.abc import AsyncIterator
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
# SQLite runs in WAL mode (Tortoise's default). With synchronous=NORMAL a commit appends
# to the WAL without an fsync (the WAL is synced at checkpoints): a crash of the process
# loses nothing and the file stays consistent; only a power cut or OS crash may lose the
# last commits. FULL, SQLite's default, made every webhook wait for the disk and queued
# the feed's reads behind it (targeted fan-out p99 in bench/REALTIME.md). Set
# `?synchronous=FULL` in TEAMINBOX_DATABASE_URL to trade that back.
SERVING_SQLITE_DEFAULTS = {"synchronous": "NORMAL"}


def serving_url(database_url: str) -> str:
    """The database URL the server uses: PostgreSQL URLs get SERVING_POSTGRES_DEFAULTS,
    SQLite URLs SERVING_SQLITE_DEFAULTS; values in the URL win."""
    parts = urlsplit(database_url)
    if parts.scheme in ("postgres", "asyncpg"):
        defaults = SERVING_POSTGRES_DEFAULTS
    elif parts.scheme == "sqlite":
        defaults = SERVING_SQLITE_DEFAULTS
    else:
        return database_url
    query = dict(parse_qsl(parts.query))
    for name, value in defaults.items():
        query.setdefault(name, value)
    return urlunsplit(parts._replace(query=urlencode(query)))


async def migrate(database_url: str) -> None:
    """Apply every pending migration (Tortoise's built-in migrations)."""
    try:
        await tortoise_migrate(config=tortoise_config(database_url))
    finally:
        await Tortoise.close_connections()


@asynccontextmanager
async def connected(database_url: str) -> AsyncIterator[None]:
    """The ORM, initialised for a CLI command."""
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        yield
    finally:
        await Tortoise.close_connections()
