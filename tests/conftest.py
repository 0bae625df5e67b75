"""Fixtures: a fresh database per test (SQLite by default; PostgreSQL and Redis when
TEAMINBOX_TEST_DATABASE_URL / TEAMINBOX_TEST_BROADCAST_URL point at them), the app with
its lifespan running, and an HTTP client speaking to it in-process."""
from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from dataclasses import replace

import asyncpg
import httpx
import pytest

from server.app import create_app
from server.database import migrate
from server.settings import Settings

TEST_DATABASE_URL = os.environ.get("TEAMINBOX_TEST_DATABASE_URL", "")
TEST_BROADCAST_URL = os.environ.get("TEAMINBOX_TEST_BROADCAST_URL", "memory://")


def backend_name() -> str:
    return "postgres" if TEST_DATABASE_URL.startswith("postgres") else "sqlite"


async def _fresh_postgres_database(base_url: str, template: str | None = None) -> tuple[str, str]:
    """Create a database beside the configured one (empty, or a copy of `template`);
    returns (url, name)."""
    name = f"teaminbox_test_{uuid.uuid4().hex[:12]}"
    root, _, _ = base_url.rpartition("/")
    connection = await asyncpg.connect(root.replace("postgres://", "postgresql://", 1) + "/postgres")
    try:
        copy = f' TEMPLATE "{template}"' if template else ""
        await connection.execute(f'CREATE DATABASE "{name}"{copy}')
    finally:
        await connection.close()
    return f"{root}/{name}", name


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory):
    """Migrations run once per session into a template; each test gets a copy of it
    (a file copy on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL)."""
    if TEST_DATABASE_URL.startswith("postgres"):
        url, name = asyncio.run(_fresh_postgres_database(TEST_DATABASE_URL))
        asyncio.run(migrate(url))
        yield name
        asyncio.run(_drop_postgres_database(TEST_DATABASE_URL, name))
    else:
        path = tmp_path_factory.mktemp("template") / "teaminbox.db"
        asyncio.run(migrate(f"sqlite://{path}"))
        yield path


async def _drop_postgres_database(base_url: str, name: str) -> None:
    root, _, _ = base_url.rpartition("/")
    connection = await asyncpg.connect(root.replace("postgres://", "postgresql://", 1) + "/postgres")
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture
async def database_url(tmp_path, migrated_template):
    if TEST_DATABASE_URL.startswith("postgres"):
        url, name = await _fresh_postgres_database(TEST_DATABASE_URL, template=migrated_template)
        yield url
        await _drop_postgres_database(TEST_DATABASE_URL, name)
    else:
        path = tmp_path / "teaminbox.db"
        shutil.copyfile(migrated_template, path)
        yield f"sqlite://{path}"


@pytest.fixture
def settings(database_url) -> Settings:
    # Cheap argon2 parameters: still real argon2id hashes, without ~100 ms per login.
    return replace(
        Settings(), database_url=database_url, broadcast_url=TEST_BROADCAST_URL,
        # Each test its own Redis keys and channels: ids restart at 1 in every test database.
        namespace=f"test-{uuid.uuid4().hex[:12]}",
        password_hash_time_cost=1, password_hash_memory_kib=1024, password_hash_parallelism=1,
        gc_tuning=False,  # a test process starts many apps: leave the collector alone

    )


@pytest.fixture
async def app(settings):
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://teaminbox.test") as http:
        yield http
