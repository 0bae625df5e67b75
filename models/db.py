"""How Tortoise is told about our models: one app, its migrations in models/migrations;
and what the database raises when it cannot be reached."""
from typing import Any

import asyncpg
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.exceptions import DBConnectionError

# What a request meets while PostgreSQL restarts or cannot be reached: refused or timed
# out connections (OSError), a server shutting down or starting up, a pooled connection
# that died. Answered 503 (retry), not 500 (bug).
DATABASE_UNAVAILABLE = (
    OSError, asyncpg.PostgresConnectionError, asyncpg.OperatorInterventionError, asyncpg.InterfaceError,
    asyncpg.TooManyConnectionsError, DBConnectionError,
)

MODEL_MODULES = ["models"]
MIGRATIONS_MODULE = "models.migrations"


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": _connection(database_url)},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _connection(database_url: str) -> str | dict[str, Any]:
    """PostgreSQL goes through models/postgres_client.py (no reset per pool checkout)."""
    connection = expand_db_url(database_url)
    if connection["engine"] != "tortoise.backends.asyncpg":
        return database_url
    return {**connection, "engine": "models.postgres_client"}


# Read by the `tortoise` CLI (`tortoise -c models.db.TORTOISE_ORM makemigrations`).
TORTOISE_ORM = tortoise_config("sqlite://teaminbox.db")
