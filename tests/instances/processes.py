"""Real `teaminbox serve` processes: a fresh PostgreSQL database migrated with `teaminbox
migrate`, `teaminbox` commands run as an operator would, instances configured only by
environment variables and awaited on `/readyz`, and a whole deployment that is always
torn down."""
from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

from tests.instances._common import (
    REPO,
    START_TIMEOUT,
    STOP_TIMEOUT,
    TEST_DATABASE_URL,
    _stop_process,
    free_port,
    teaminbox_bin,
)
from tests.instances.services import RedisServer

# --- databases ------------------------------------------------------------------------

def _admin_dsn(url: str) -> str:
    root, _, _ = url.rpartition("/")
    return root.replace("postgres://", "postgresql://", 1) + "/postgres"


async def create_database(base_url: str) -> str:
    """An empty database beside the one `base_url` names; returns its URL."""
    name = f"teaminbox_test_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(_admin_dsn(base_url), timeout=10)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return f"{base_url.rpartition('/')[0]}/{name}"


async def drop_database(url: str) -> None:
    name = url.rpartition("/")[2]
    with contextlib.suppress(OSError, asyncpg.PostgresError, asyncio.TimeoutError):
        connection = await asyncpg.connect(_admin_dsn(url), timeout=10)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()


def run_cli(env: dict[str, str], *args: str, timeout: float = 60) -> str:
    """Run a `teaminbox` command the way an operator would; returns its stdout."""
    result = subprocess.run([teaminbox_bin(), *args], env=env, capture_output=True, text=True, timeout=timeout,
                            cwd=REPO)
    if result.returncode != 0:
        raise AssertionError(f"teaminbox {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result.stdout


def instance_env(database_url: str, broadcast_url: str, **settings: object) -> dict[str, str]:
    """The process environment of an instance: only TEAMINBOX_* variables configure it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEAMINBOX_")}
    env["TEAMINBOX_DATABASE_URL"] = database_url
    env["TEAMINBOX_BROADCAST_URL"] = broadcast_url
    for name, value in settings.items():
        env[f"TEAMINBOX_{name.upper()}"] = str(value)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


async def migrated_database(base_url: str) -> str:
    url = await create_database(base_url)
    await asyncio.to_thread(run_cli, instance_env(url, "memory://"), "migrate")
    return url


async def stored_events(database_url: str, account_id: int) -> list[dict]:
    """The account's durable event log (seq order): seq, kind, conversation_id, user_id,
    payload, created_at."""
    connection = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1), timeout=10)
    try:
        rows = await connection.fetch(
            "SELECT seq, kind, conversation_id, user_id, payload, created_at FROM event "
            "WHERE account_id = $1 ORDER BY seq", account_id)
    finally:
        await connection.close()
    return [{**dict(row), "payload": orjson.loads(row["payload"]) if isinstance(row["payload"], str) else row["payload"]}
            for row in rows]


async def fetch_all(database_url: str, query: str, *args: Any) -> list[dict]:
    connection = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1), timeout=10)
    try:
        return [dict(row) for row in await connection.fetch(query, *args)]
    finally:
        await connection.close()


# --- instances ------------------------------------------------------------------------

class Instance:
    """One `teaminbox serve --port P` subprocess."""

    def __init__(self, env: dict[str, str], log_dir: Path, name: str) -> None:
        self.name = name
        self.port = free_port()
        self.http_url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/graphql"
        self.log_path = log_dir / f"{name}.log"
        self._env = env
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [teaminbox_bin(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self._env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
            )

    async def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as http:
            while True:
                if self.process is None or self.process.poll() is not None:
                    raise AssertionError(f"{self.name} exited before it was ready:{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{self.http_url}/readyz")).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise AssertionError(f"{self.name} was not ready within {timeout}s:{self.log_tail()}")
                await asyncio.sleep(0.1)

    async def readyz(self) -> tuple[int, dict]:
        async with httpx.AsyncClient(timeout=5) as http:
            response = await http.get(f"{self.http_url}/readyz")
            return response.status_code, response.json()

    async def wait_readyz(self, status: int, timeout: float = 20) -> dict:
        """Poll /readyz until it answers `status`; returns its body."""
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                code, body = await self.readyz()
                if code == status:
                    return body
                last = (code, body)
            await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name}: /readyz did not answer {status} within {timeout}s (last {last})"
                             f"{self.log_tail()}")

    async def terminate(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM and wait (SIGKILL past `timeout`); returns the exit code."""
        if self.process is None:
            return 0
        return await asyncio.to_thread(_stop_process, self.process, signal.SIGTERM, timeout)

    def kill(self) -> None:
        if self.process is not None:
            _stop_process(self.process, signal.SIGKILL)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, chars: int = 4000) -> str:
        return f"\n--- {self.name} log ---\n{self.log_text()[-chars:]}"


# --- a whole deployment ------------------------------------------------------------------

@dataclass
class Deployment:
    database_url: str
    redis: RedisServer
    env: dict[str, str]
    instances: list[Instance]
    log_dir: Path

    def __getitem__(self, index: int) -> Instance:
        return self.instances[index]


@contextlib.asynccontextmanager
async def deployment(log_dir: Path, count: int = 2, *, database_base_url: str | None = None,
                     database_options: str = "", **settings: object) -> AsyncIterator[Deployment]:
    """A fresh migrated PostgreSQL database, a private redis-server, and `count` ready
    instances configured only by TEAMINBOX_* variables; everything is torn down after.
    `database_options` ("?command_timeout=2") is added to the instances' database URL."""
    database_url = await migrated_database(database_base_url or TEST_DATABASE_URL)
    redis_server: RedisServer | None = None
    try:
        redis_server = RedisServer()
        redis_server.start()
        env = instance_env(database_url + database_options, redis_server.url, **settings)
        running = [Instance(env, log_dir, f"instance{i + 1}") for i in range(count)]
        found = Deployment(database_url, redis_server, env, running, log_dir)
        try:
            for instance in running:
                instance.start()
            await asyncio.gather(*(instance.wait_ready() for instance in running))
            yield found
        except BaseException:
            for instance in running:  # shown by pytest with the failure
                print(instance.log_tail())
            raise
        finally:
            await asyncio.gather(*(instance.terminate() for instance in running))
    finally:
        if redis_server is not None:
            redis_server.kill()
        await drop_database(database_url)
