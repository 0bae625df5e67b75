"""How Tortoise is told about our models: one app, its migrations in models/migrations."""
from typing import Any

MODEL_MODULES = ["models"]
MIGRATIONS_MODULE = "models.migrations"


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": database_url},
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


# Read by the `tortoise` CLI (`tortoise -c models.db.TORTOISE_ORM makemigrations`).
TORTOISE_ORM = tortoise_config("sqlite://teaminbox.db")
