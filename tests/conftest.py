"""Fixtures: a fresh database per test (SQLite by default; PostgreSQL and Redis when
TEAMINBOX_TEST_DATABASE_URL / TEAMINBOX_TEST_BROADCAST_URL point at them), the app with
its lifespan running, and an HTTP client speaking to it in-process."""
from __future__ import annotations

import os
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


async def _fresh_postgres_database(base_url: str) -> tuple[str, str]:
    """Create an empty database beside the configured one; returns (url, name)."""
    name = f"teaminbox_test_{uuid.uuid4().hex[:12]}"
    root, _, _ = base_url.rpartition("/")
    connection = await asyncpg.connect(root.replace("postgres://", "postgresql://", 1) + "/postgres")
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return f"{root}/{name}", name


async def _drop_postgres_database(base_url: str, name: str) -> None:
    root, _, _ = base_url.rpartition("/")
    connection = await asyncpg.connect(root.replace("postgres://", "postgresql://", 1) + "/postgres")
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture
async def database_url(tmp_path):
    if TEST_DATABASE_URL.startswith("postgres"):
        url, name = await _fresh_postgres_database(TEST_DATABASE_URL)
        await migrate(url)
        yield url
        await _drop_postgres_database(TEST_DATABASE_URL, name)
    else:
        url = f"sqlite://{tmp_path / 'teaminbox.db'}"
        await migrate(url)
        yield url


@pytest.fixture
def settings(database_url) -> Settings:
    return replace(Settings(), database_url=database_url, broadcast_url=TEST_BROADCAST_URL)


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
