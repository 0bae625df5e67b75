"""Database set-up outside the web app: migrations (CLI and tests), and the checks that
turn a database the CLI cannot use into one clear line instead of a traceback or a hang."""
from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, closing, contextmanager
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.exceptions import ConfigurationError, DBConnectionError, OperationalError
from tortoise.migrations.api.migrate import migrate as tortoise_migrate

from models import Account
from models.db import tortoise_config

# Bounded waits on PostgreSQL while serving: asyncpg waits 60 s for a connection and
# forever for a query by default, so a hung or unreachable database hung requests (and
# /readyz) instead of failing them. Values given in the URL's query string win.
SERVING_POSTGRES_DEFAULTS = {"timeout": "5", "command_timeout": "30"}
# Migrations may legitimately run long: only reaching the server is bounded, so an
# unreachable PostgreSQL fails `migrate` in seconds instead of a minute.
MIGRATING_POSTGRES_DEFAULTS = {"timeout": "5"}
# SQLite runs in WAL mode (Tortoise's default). With synchronous=NORMAL a commit appends
# to the WAL without an fsync (the WAL is synced at checkpoints): a crash of the process
# loses nothing and the file stays consistent; only a power cut or OS crash may lose the
# last commits. FULL, SQLite's default, made every webhook wait for the disk and queued
# the feed's reads behind it (targeted fan-out p99 in bench/REALTIME.md). Set
# `?synchronous=FULL` in TEAMINBOX_DATABASE_URL to trade that back.
SERVING_SQLITE_DEFAULTS = {"synchronous": "NORMAL"}
POSTGRES_SCHEMES = ("postgres", "postgresql", "asyncpg")
ACCEPTED_URLS = "sqlite://path/to/file.db or postgres://user:password@host:5432/database"


class DatabaseUnusable(Exception):
    """The configured database cannot be used; the message is one line for a person."""


def serving_url(database_url: str) -> str:
    """The database URL the server uses: PostgreSQL URLs get SERVING_POSTGRES_DEFAULTS,
    SQLite URLs SERVING_SQLITE_DEFAULTS; values in the URL win."""
    return _with_defaults(database_url, SERVING_POSTGRES_DEFAULTS, SERVING_SQLITE_DEFAULTS)


def _with_defaults(database_url: str, postgres: dict[str, str], sqlite: dict[str, str]) -> str:
    parts = urlsplit(database_url)
    if parts.scheme in POSTGRES_SCHEMES:
        defaults = postgres
    elif parts.scheme == "sqlite":
        defaults = sqlite
    else:
        return database_url
    if not defaults:
        return database_url
    query = dict(parse_qsl(parts.query))
    for name, value in defaults.items():
        query.setdefault(name, value)
    return urlunsplit(parts._replace(query=urlencode(query)))


def is_sqlite(database_url: str) -> bool:
    return urlsplit(database_url).scheme == "sqlite"


def check_url(database_url: str) -> None:
    """Raise DatabaseUnusable unless the URL names a backend we ship (SQLite, PostgreSQL
    through asyncpg) and, for SQLite, a file that can be created or written. Checked
    before connecting: Tortoise hangs instead of raising when it cannot open a SQLite
    file (see _probe_sqlite_file)."""
    scheme = urlsplit(database_url).scheme
    if scheme != "sqlite" and scheme not in POSTGRES_SCHEMES:
        shown = f"scheme {scheme!r}" if scheme else "no scheme"
        raise DatabaseUnusable(f"TEAMINBOX_DATABASE_URL has {shown}: use {ACCEPTED_URLS}")
    try:
        connection = expand_db_url(database_url)
    except (ConfigurationError, ValueError) as error:
        raise DatabaseUnusable(f"TEAMINBOX_DATABASE_URL cannot be read ({error}): use {ACCEPTED_URLS}") from error
    if scheme == "sqlite":
        _check_sqlite_file(str(connection["credentials"]["file_path"]))


def _check_sqlite_file(file_path: str) -> None:
    if file_path == ":memory:":
        return
    file = Path(file_path)
    directory = file.parent
    cannot = f"cannot use the SQLite file {file_path}"
    if not directory.exists():
        raise DatabaseUnusable(f"{cannot}: the directory {directory} does not exist")
    if not directory.is_dir():
        raise DatabaseUnusable(f"{cannot}: {directory} is not a directory")
    if file.is_dir():
        raise DatabaseUnusable(f"{cannot}: it is a directory")
    # WAL mode writes -wal and -shm files beside the database: the directory must be
    # writable even when the file exists.
    if not os.access(directory, os.W_OK | os.X_OK):
        raise DatabaseUnusable(f"{cannot}: the directory {directory} is not writable")
    if file.exists() and not os.access(file, os.R_OK | os.W_OK):
        raise DatabaseUnusable(f"{cannot}: the file is not writable")
    if file.exists():
        _probe_sqlite_file(file, cannot)


def _probe_sqlite_file(file: Path, cannot: str) -> None:
    """Read an existing file's schema version with the standard library: Tortoise 1.1's
    ConnectionWrapper keeps its lock when opening the connection fails (the lock is taken
    in __aenter__, released only in __aexit__), so a file that is not a database hung
    `migrate` and `serve` on their next statement instead of failing."""
    try:
        with closing(sqlite3.connect(f"{file.resolve().as_uri()}?mode=rw", uri=True, timeout=5)) as probe:
            probe.execute("PRAGMA schema_version").fetchone()
    except sqlite3.Error as error:
        raise DatabaseUnusable(f"{cannot}: {error}") from error


def shown_url(database_url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(database_url)
    if parts.password is None:
        return database_url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


@contextmanager
def failures_explained(database_url: str) -> Iterator[None]:
    """Turn the ways a database cannot be reached or used into DatabaseUnusable."""
    try:
        yield
    except (OSError, TimeoutError, DBConnectionError, asyncpg.InvalidAuthorizationSpecificationError) as error:
        reason = str(error) or type(error).__name__
        raise DatabaseUnusable(f"cannot connect to the database at {shown_url(database_url)}: {reason}") from error


async def require_schema() -> None:
    """Raise DatabaseUnusable when the connected database has no teaminbox tables (a
    PostgreSQL database nobody ran `teaminbox migrate` on)."""
    try:
        await Account.exists()
    except OperationalError as error:
        missing = f"the database has no teaminbox tables ({error}): run `teaminbox migrate` first"
        raise DatabaseUnusable(missing) from error


async def migrate(database_url: str) -> None:
    """Apply every pending migration (Tortoise's built-in migrations)."""
    url = _with_defaults(database_url, MIGRATING_POSTGRES_DEFAULTS, {})
    try:
        await tortoise_migrate(config=tortoise_config(url))
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
