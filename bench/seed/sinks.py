"""Where the seeded rows go, in one transaction: PostgreSQL by binary COPY (secondary
indexes and foreign keys dropped for the load and rebuilt before commit), SQLite by
executemany (foreign keys checked once before commit)."""
from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Protocol
from urllib.parse import urlsplit

import aiosqlite
import asyncpg

from bench.common.postgres import dsn
from bench.common.progress import say
from bench.seed.generator import BULK_TABLES, COLUMNS

SQLITE_CACHE_KIB = 512 * 1024
INDEX_BUILD_MEMORY = "256MB"


class Sink(Protocol):
    async def next_ids(self) -> dict[str, int]: ...
    async def write(self, table: str, rows: list[tuple]) -> None: ...


class PostgresSink:
    def __init__(self, connection: asyncpg.Connection):
        self.connection = connection

    async def next_ids(self) -> dict[str, int]:
        return {table: await self.connection.fetchval(f'SELECT COALESCE(MAX(id), 0) + 1 FROM "{table}"')
                for table in COLUMNS}

    async def write(self, table: str, rows: list[tuple]) -> None:
        if rows:
            await self.connection.copy_records_to_table(table, records=rows, columns=COLUMNS[table])


class SqliteSink:
    def __init__(self, connection: aiosqlite.Connection):
        self.connection = connection

    async def next_ids(self) -> dict[str, int]:
        ids = {}
        for table in COLUMNS:
            async with self.connection.execute(f'SELECT COALESCE(MAX(id), 0) + 1 FROM "{table}"') as cursor:
                row = await cursor.fetchone()
            if row is None:  # an aggregate without GROUP BY always has its row
                raise RuntimeError(f"no MAX(id) row from {table}")
            ids[table] = row[0]
        return ids

    async def write(self, table: str, rows: list[tuple]) -> None:
        columns = COLUMNS[table]
        sql = f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({", ".join("?" * len(columns))})'
        await self.connection.executemany(sql, rows)


@asynccontextmanager
async def postgres_sink(database_url: str, progress: bool) -> AsyncIterator[PostgresSink]:
    """One transaction, like pg_restore: the loaded tables lose their secondary indexes
    and foreign keys for the COPY and get them back (same names and definitions) before
    commit. Building an index once from sorted rows beat maintaining it row by row
    (100k conversations: 31-41 s against 38-57 s on a busy 2-core machine), though on a
    database that already holds a lot the rebuild covers those rows too. Re-adding a
    foreign key validates it with one join instead of a trigger per row, and breaks the
    conversation <-> message cycle. The sequences are moved past the ids we chose."""
    tables = ", ".join(f'"{table}"' for table in COLUMNS)
    connection = await asyncpg.connect(dsn(database_url))
    try:
        async with connection.transaction():
            # Writers wait for us instead of taking ids we are about to use.
            await connection.execute(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")
            restore = await _drop_secondary_indexes(connection) + await _drop_foreign_keys(connection)
            yield PostgresSink(connection)
            started = time.perf_counter()
            await connection.execute(f"SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEMORY}'")
            for statement in restore:
                await connection.execute(statement)
            for table in COLUMNS:
                await connection.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), MAX(id)) FROM \"{table}\"")
            say(progress, f"indexes and foreign keys rebuilt in {time.perf_counter() - started:.1f}s, committing")
        started = time.perf_counter()
        await connection.execute(f"ANALYZE {tables}")
        say(progress, f"ANALYZE {time.perf_counter() - started:.1f}s")
    finally:
        await connection.close()


async def _drop_foreign_keys(connection: asyncpg.Connection) -> list[str]:
    """Drops the loaded tables' foreign keys; returns the statements that re-add them."""
    rows = await connection.fetch(
        "SELECT conrelid::regclass::text AS table_name, conname, pg_get_constraintdef(oid) AS definition"
        " FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY($1::regclass[])",
        [f'"{table}"' for table in BULK_TABLES],
    )
    for row in rows:
        await connection.execute(f'ALTER TABLE {row["table_name"]} DROP CONSTRAINT "{row["conname"]}"')
    return [f'ALTER TABLE {row["table_name"]} ADD CONSTRAINT "{row["conname"]}" {row["definition"]}' for row in rows]


async def _drop_secondary_indexes(connection: asyncpg.Connection) -> list[str]:
    """Drops the loaded tables' indexes but the primary keys; returns the statements that rebuild them."""
    rows = await connection.fetch(
        "SELECT i.indrelid::regclass::text AS table_name, i.indexrelid::regclass::text AS index_name,"
        " pg_get_indexdef(i.indexrelid) AS index_definition, c.conname, pg_get_constraintdef(c.oid) AS definition"
        " FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid"
        " WHERE i.indrelid = ANY($1::regclass[]) AND NOT i.indisprimary",
        [f'"{table}"' for table in BULK_TABLES],
    )
    restore = []
    for row in rows:
        if row["conname"]:
            await connection.execute(f'ALTER TABLE {row["table_name"]} DROP CONSTRAINT "{row["conname"]}"')
            restore.append(f'ALTER TABLE {row["table_name"]} ADD CONSTRAINT "{row["conname"]}" {row["definition"]}')
        else:
            await connection.execute(f"DROP INDEX {row['index_name']}")
            restore.append(row["index_definition"])
    return restore


@asynccontextmanager
async def sqlite_sink(database_url: str, progress: bool) -> AsyncIterator[SqliteSink]:
    """One transaction, foreign keys checked once before commit. Enforced per row they
    cost a scan per message: message ids are the target of conversation.last_message_id,
    which has no index, and with deferred checks SQLite looks for the referencing rows."""
    async with aiosqlite.connect(sqlite_path(database_url), isolation_level=None) as connection:
        await connection.execute("PRAGMA foreign_keys = OFF")
        # SQLite's default 2 MB page cache spills to disk as soon as the indexes outgrow it.
        await connection.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        await connection.execute("BEGIN IMMEDIATE")
        try:
            yield SqliteSink(connection)
            started = time.perf_counter()
            async with connection.execute("PRAGMA foreign_key_check") as cursor:
                violations = await cursor.fetchmany(5)
            if violations:
                raise RuntimeError(f"seeded rows break foreign keys (table, rowid, parent, fk): {violations}")
        except BaseException:
            await connection.execute("ROLLBACK")
            raise
        await connection.execute("COMMIT")
        await connection.execute("ANALYZE")
        say(progress, f"foreign key check, commit and ANALYZE {time.perf_counter() - started:.1f}s")


def _tortoise_datetime_text(value: datetime) -> str:
    return value.isoformat(" ")


# The text Tortoise writes for a datetime on SQLite (tortoise/backends/sqlite/executor.py
# registers the same adapter): the app compares these strings, so ours must match.
sqlite3.register_adapter(datetime, _tortoise_datetime_text)


def sqlite_path(database_url: str) -> str:
    """`sqlite:///abs/file.db` or `sqlite://relative.db`, read as Tortoise reads them."""
    parts = urlsplit(database_url)
    return parts.netloc + parts.path
