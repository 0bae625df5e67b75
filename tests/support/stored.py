"""How many rows every table of the app holds: what a test of input that must store
nothing compares before and after."""
from __future__ import annotations

from tortoise import Tortoise


async def row_counts() -> dict[str, int]:
    """Rows per table, for every model Tortoise knows (a table added later is counted
    too), in one statement."""
    apps = Tortoise.apps
    assert apps is not None, "Tortoise is not initialised: is the app running?"
    tables = sorted({model._meta.db_table for model in apps.get_models_iterable()})
    columns = ", ".join(f'(SELECT COUNT(*) FROM "{table}") AS "{table}"' for table in tables)
    rows = await Tortoise.get_connection("default").execute_query_dict(f"SELECT {columns}")
    return {table: int(count) for table, count in rows[0].items()}
