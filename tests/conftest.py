"""Fixtures: a fresh database per test (SQLite by default; PostgreSQL and Redis when
TEAMINBOX_TEST_DATABASE_URL / TEAMINBOX_TEST_BROADCAST_URL point at them), the app with
its lifespan running, and an HTTP client speaking to it in-process, on each of the two
GraphQL paths (tests.support.graphql_path). Nothing is left behind: each test's database
and Redis keys are removed after it, the template database after the session."""
from __future__ import annotations

import asyncio
import shutil
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from server.app import create_app
from server.database import migrate
from server.settings import Settings
from tests.support.databases import create_database, database_name, drop_database, drop_remaining
from tests.support.environment import TEST_BROADCAST_URL, TEST_DATABASE_URL, on_postgres, on_redis
from tests.support.graphql_path import COMPILED, GRAPHQL_PATHS
from tests.support.redis_keys import delete_namespace

_namespaces_in_use: set[str] = set()


@pytest.fixture(scope="session", autouse=True)
def nothing_left_behind() -> Iterator[None]:
    """After the session, remove what a test could not remove itself: its database, its
    Redis keys. Only this session's: other runs sharing the servers are not touched."""
    yield
    if on_postgres():
        left = drop_remaining(TEST_DATABASE_URL)
        if left:
            warnings.warn(f"dropped {len(left)} test database(s) left behind: {left}", stacklevel=1)
    if on_redis() and _namespaces_in_use:
        keys = sum(asyncio.run(delete_namespace(TEST_BROADCAST_URL, name)) for name in sorted(_namespaces_in_use))
        if keys:
            warnings.warn(f"deleted {keys} Redis key(s) left behind", stacklevel=1)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | Path]:
    """Migrations run once per session into a template; each test gets a copy of it
    (a file copy on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL)."""
    if on_postgres():
        url = asyncio.run(create_database(TEST_DATABASE_URL))
        try:
            asyncio.run(migrate(url))
            yield database_name(url)
        finally:
            asyncio.run(drop_database(url))
    else:
        path = tmp_path_factory.mktemp("template") / "teaminbox.db"
        asyncio.run(migrate(f"sqlite://{path}"))
        yield path


@pytest.fixture
async def database_url(tmp_path: Path, migrated_template: str | Path) -> AsyncIterator[str]:
    if on_postgres():
        url = await create_database(TEST_DATABASE_URL, template=str(migrated_template))
        yield url
        await drop_database(url)
    else:
        path = tmp_path / "teaminbox.db"
        await asyncio.to_thread(shutil.copyfile, migrated_template, path)
        yield f"sqlite://{path}"


@pytest.fixture
async def namespace() -> AsyncIterator[str]:
    """Each test its own Redis keys and channels (ids restart at 1 in every test
    database); its keys are deleted after it."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    _namespaces_in_use.add(name)
    yield name
    if on_redis():
        await delete_namespace(TEST_BROADCAST_URL, name)
    _namespaces_in_use.discard(name)


@pytest.fixture
def settings(database_url: str, namespace: str) -> Settings:
    # Cheap argon2 parameters: still real argon2id hashes, without ~100 ms per login.
    return replace(
        Settings(), database_url=database_url, broadcast_url=TEST_BROADCAST_URL, namespace=namespace,
        password_hash_time_cost=1, password_hash_memory_kib=1024, password_hash_parallelism=1,
        gc_tuning=False,  # a test process starts many apps: leave the collector alone
        # Replies are sent only where a test runs the worker (tests of delivery): elsewhere
        # its events (a reply failing for want of a provider) would land in every stream.
        delivery_worker=False,
    )


@pytest.fixture(params=GRAPHQL_PATHS)
def graphql_path(request: pytest.FixtureRequest) -> str:
    """Which POST /graphql the app serves: `compiled` (the compiled documents in front of
    the general app, the default) or `general` (the general app alone)."""
    path: str = request.param
    return path


@pytest.fixture
async def app(settings: Settings, graphql_path: str) -> AsyncIterator[Starlette]:
    application = create_app(replace(settings, compiled_documents=graphql_path == COMPILED))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://teaminbox.test") as http:
        yield http
