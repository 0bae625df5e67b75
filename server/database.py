"""Database set-up outside the web app: migrations (CLI and tests)."""
from __future__ import annotations

from contextlib import asynccontextmanager

from tortoise import Tortoise
from tortoise.migrations.api.migrate import migrate as tortoise_migrate

from models.db import tortoise_config


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
