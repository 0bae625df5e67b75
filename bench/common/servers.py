"""Server processes on free ports: `teaminbox serve` (seeded with a team through the CLI and
the API), the plain Starlette WebSocket baseline (bench/realtime/baseline_ws.py), and any
other server a benchmark starts with `spawn`. Every one dies with this process."""
from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.common.api import conversation_of, create_team, post_inbound
from bench.common.paths import ROOT
from bench.common.process import cli, die_with_parent, free_port, teaminbox_command


@dataclass
class Server:
    name: str
    port: int
    process: asyncio.subprocess.Process
    log_path: Path
    # Filled in by seeding (teaminbox only).
    tokens: list[str] = field(default_factory=list)
    account_id: str = ""
    webhook_secret: str = ""
    conversation_id: str = ""

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    async def readyz(self) -> int:
        """The status of /readyz (200: database reachable and bus connected)."""
        async with httpx.AsyncClient(timeout=5) as client:
            return (await client.get(f"{self.http_url}/readyz")).status_code

    async def wait_readyz(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.returncode is not None:
                raise RuntimeError(f"{self.name} exited ({self.process.returncode}):\n{self.log_tail()}")
            with contextlib.suppress(httpx.TransportError):
                if await self.readyz() == 200:
                    return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready within {timeout}s:\n{self.log_tail()}")

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await asyncio.wait_for(self.process.wait(), 10)


async def spawn(name: str, argv: list[str], env: dict[str, str], log_path: Path, port: int) -> Server:
    """Start `argv` (which listens on `port`), its output appended to `log_path`, and wait
    until it answers /healthz."""
    log = await asyncio.to_thread(log_path.open, "ab")
    try:
        process = await asyncio.create_subprocess_exec(
            *argv, cwd=ROOT, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
            preexec_fn=die_with_parent,
        )
    finally:
        log.close()
    server = Server(name, port, process, log_path)
    try:
        await _wait_healthy(server, timeout=60)
    except BaseException:
        await server.stop()
        raise
    return server


async def _wait_healthy(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if server.process.returncode is not None:
                raise RuntimeError(f"{server.name} exited ({server.process.returncode}):\n{server.log_tail()}")
            try:
                if (await client.get(f"{server.http_url}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{server.name} did not become healthy in {timeout}s:\n{server.log_tail()}")


async def start_baseline(workdir: Path) -> Server:
    port = free_port()
    return await spawn("baseline", [sys.executable, "-m", "bench.realtime.baseline_ws", "--port", str(port)],
                       dict(os.environ), workdir / "baseline.log", port)


def teaminbox_env(database_url: str, broadcast_url: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["TEAMINBOX_DATABASE_URL"] = database_url
    env["TEAMINBOX_BROADCAST_URL"] = broadcast_url or "memory://"
    return env


async def start_instance(name: str, env: dict[str, str], log_dir: Path) -> Server:
    """`teaminbox serve` on a free port, configured by `env`; a PostgreSQL database must be
    migrated first (`cli(env, "migrate")`), the embedded SQLite migrates itself."""
    port = free_port()
    return await spawn(name, [*teaminbox_command(), "serve", "--port", str(port)], env, log_dir / f"{name}.log", port)


async def start_teaminbox(workdir: Path, database_url: str | None, broadcast_url: str | None,
                          members: int) -> Server:
    """A seeded `teaminbox serve` (a SQLite temp file and memory:// unless URLs are given):
    an account, its admin and `members` agents logged in (`tokens`, the admin's first) and one
    inbound message that creates the conversation everyone watches."""
    env = teaminbox_env(database_url or f"sqlite://{workdir / 'bench.db'}", broadcast_url)
    if database_url and not database_url.startswith("sqlite"):
        await cli(env, "migrate")
    server = await start_instance("teaminbox", env, workdir)
    try:
        async with httpx.AsyncClient(base_url=server.http_url, timeout=30) as client:
            team = await create_team(env, client, members)
            server.account_id, server.webhook_secret = team.account_id, team.webhook_secret
            server.tokens = [member.token for member in team.members]
            answer = await post_inbound(client, team.account_id, team.webhook_secret, f"seed-{team.tag}",
                                        "Hello, this starts the benchmark thread")
            server.conversation_id = conversation_of(answer)
    except BaseException:
        await server.stop()
        raise
    return server
