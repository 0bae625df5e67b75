"""What bench.realtime's benchmarks share: the servers of one backend (a plain Starlette
baseline and `teaminbox serve` with many conversations) on a throwaway PostgreSQL database
and a private redis-server where the backend needs them, an open-loop publisher, and small
formatting helpers."""
from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.common.api import CUSTOMER_PHONE, conversation_of, post_inbound
from bench.common.http import RawHTTP
from bench.common.postgres import drop_database, scratch_database
from bench.common.redis import RedisProcess
from bench.common.report import percentile
from bench.common.servers import Server, start_baseline, start_teaminbox

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/teaminbox"


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- backends ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Backend:
    key: str  # "sqlite" | "postgres"
    label: str  # shown in the table

    @property
    def needs_postgres(self) -> bool:
        return self.key == "postgres"


BACKENDS = {
    "sqlite": Backend("sqlite", "SQLite + memory://"),
    "postgres": Backend("postgres", "PostgreSQL + Redis"),
}


@contextlib.asynccontextmanager
async def postgres_and_redis(postgres_base: str) -> AsyncIterator[tuple[str, str]]:
    """A fresh database beside `postgres_base` (dropped afterwards) and a private Redis."""
    database_url = await scratch_database(postgres_base)
    redis = RedisProcess()
    try:
        await redis.start()
        yield database_url, redis.url
    finally:
        await redis.stop()
        await drop_database(database_url)


@dataclass
class Servers:
    """One backend's pair of servers; `conversations[j]` is watched by group j of the clients,
    and `phones[j]` is the customer whose messages land in it."""
    backend: Backend
    baseline: Server
    teaminbox: Server
    conversations: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)


def conversation_phone(j: int) -> str:
    return CUSTOMER_PHONE if j == 0 else f"+1415555{2000 + j:04d}"


@contextlib.asynccontextmanager
async def backend_servers(workdir: Path, backend: Backend, postgres_base: str, conversations: int,
                          members: int = 4) -> AsyncIterator[Servers]:
    """The Starlette baseline and a seeded `teaminbox serve` on `backend`, with
    `conversations` conversations (one customer phone each); always stopped."""
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    async with contextlib.AsyncExitStack() as stack:
        database_url = broadcast_url = None
        if backend.needs_postgres:
            database_url, broadcast_url = await stack.enter_async_context(postgres_and_redis(postgres_base))
        running: list[Server] = []
        try:
            running.append(await start_baseline(workdir))
            running.append(await start_teaminbox(workdir, database_url, broadcast_url, members))
            servers = Servers(backend, running[0], running[1], [running[1].conversation_id], [CUSTOMER_PHONE])
            async with httpx.AsyncClient(base_url=servers.teaminbox.http_url, timeout=30) as client:
                for j in range(1, conversations):
                    phone = conversation_phone(j)
                    answer = await post_inbound(client, servers.teaminbox.account_id, servers.teaminbox.webhook_secret,
                                                f"seed-{j}-{phone}", "Hello", phone)
                    servers.conversations.append(conversation_of(answer))
                    servers.phones.append(phone)
            if len(set(servers.conversations)) != conversations:
                raise RuntimeError(f"seeding made {len(set(servers.conversations))} conversations, not {conversations}")
            yield servers
        except BaseException:
            for server in running:
                log(f"--- {server.name} log (tail) ---\n{server.log_tail()}")
            raise
        finally:
            for server in running:
                await server.stop()


# --- publishing ---------------------------------------------------------------------------

@dataclass
class OpenLoop:
    sent: int = 0
    failed: int = 0
    seconds: float = 0.0  # the window: from the first scheduled send to its end
    post_ns: list[int] = field(default_factory=list)
    lag_ns: list[int] = field(default_factory=list)  # actual send − scheduled send
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else float("nan")


async def open_loop(port: int, connections: int, rate: float, seconds: float,
                    send: Callable[[RawHTTP, int], Awaitable[None]]) -> OpenLoop:
    """Call `send(http, i)` for i = 0, 1, … at `rate` per second for `seconds`, each on a
    free keep-alive connection of a pool of `connections`. The schedule does not wait for
    answers (open loop); when every connection is busy, the send is late (`lag_ns`), and
    sends that would fall after the window are dropped (so `rate` shows the shortfall)."""
    outcome = OpenLoop()
    pool: asyncio.Queue[RawHTTP] = asyncio.Queue()
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(connections):
            pool.put_nowait(await stack.enter_async_context(RawHTTP("127.0.0.1", port)))
        tasks: set[asyncio.Task] = set()

        async def one(http: RawHTTP, i: int) -> None:
            started = time.monotonic_ns()
            try:
                await send(http, i)
                outcome.post_ns.append(time.monotonic_ns() - started)
                pool.put_nowait(http)
            except Exception as error:
                outcome.failed += 1
                if len(outcome.errors) < 5:
                    outcome.errors.append(repr(error)[:300])

        total = int(rate * seconds)
        begin = time.monotonic()
        end = begin + seconds
        for i in range(total):
            scheduled = begin + i / rate
            await asyncio.sleep(max(0.0, scheduled - time.monotonic()))
            try:  # a server that cannot keep up gets fewer messages, not a longer window
                http = await asyncio.wait_for(pool.get(), max(0.001, end - time.monotonic()))
            except TimeoutError:
                break
            outcome.lag_ns.append(int((time.monotonic() - scheduled) * 1e9))
            task = asyncio.create_task(one(http, i))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            outcome.sent += 1
        outcome.seconds = max(time.monotonic(), end) - begin if outcome.sent else 0.0
        if tasks:
            await asyncio.wait(tasks, timeout=30)
    return outcome


# --- formatting ---------------------------------------------------------------------------

def ms(values_ns: list[int], q: float) -> float:
    return percentile(values_ns, q)


def fmt(value: float, digits: int = 1) -> str:
    return "n/a" if value != value else f"{value:,.{digits}f}"


def ratio(a: float, b: float) -> float:
    return a / b if b and a == a and b == b else float("nan")
