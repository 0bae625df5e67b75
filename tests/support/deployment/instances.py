"""`teaminbox serve --port P` subprocesses: each configured only by environment
variables and awaited on `/readyz`, and a whole deployment (a fresh migrated database,
a private redis-server, N instances) that is always torn down, its database dropped."""
from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.databases import create_database, drop_database
from tests.support.deployment.environment import instance_env, run_cli, teaminbox_bin
from tests.support.environment import REPO, TEST_DATABASE_URL
from tests.support.ports import free_port
from tests.support.services import STOP_TIMEOUT, RedisServer, stop_process

START_TIMEOUT = 30.0  # an instance must answer /readyz 200 within this


class Instance:
    """One `teaminbox serve --port P` subprocess."""

    def __init__(self, env: dict[str, str], log_dir: Path, name: str) -> None:
        self.name = name
        self.port = free_port()
        self.http_url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/graphql"
        self.log_path = log_dir / f"{name}.log"
        self._env = env
        self._process: subprocess.Popen | None = None

    def http(self, timeout: float = 10) -> httpx.AsyncClient:
        """An HTTP client for this instance (paths relative to it: "/graphql")."""
        return httpx.AsyncClient(base_url=self.http_url, timeout=timeout)

    @property
    def process(self) -> subprocess.Popen:
        assert self._process is not None, f"{self.name} was never started"
        return self._process

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                [teaminbox_bin(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self._env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
            )

    async def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        async with self.http(timeout=2) as http:
            while True:
                if not self.running:
                    raise AssertionError(f"{self.name} exited before it was ready:{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get("/readyz")).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise AssertionError(f"{self.name} was not ready within {timeout}s:{self.log_tail()}")
                await asyncio.sleep(0.1)

    async def readyz(self) -> tuple[int, dict]:
        async with self.http(timeout=5) as http:
            response = await http.get("/readyz")
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
        if self._process is None:
            return 0
        return await asyncio.to_thread(stop_process, self._process, signal.SIGTERM, timeout)

    def kill(self) -> None:
        if self._process is not None:
            stop_process(self._process, signal.SIGKILL)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, chars: int = 4000) -> str:
        return f"\n--- {self.name} log ---\n{self.log_text()[-chars:]}"


@dataclass
class Deployment:
    database_url: str
    redis: RedisServer
    env: dict[str, str]
    instances: list[Instance]
    log_dir: Path

    def __getitem__(self, index: int) -> Instance:
        return self.instances[index]


async def migrated_database(base_url: str) -> str:
    """A fresh database beside `base_url`'s, migrated with `teaminbox migrate`; its URL."""
    url = await create_database(base_url)
    try:
        await asyncio.to_thread(run_cli, instance_env(url, "memory://"), "migrate")
    except BaseException:
        await drop_database(url)
        raise
    return url


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
