"""Real `teaminbox serve` processes for multi-instance and fault tests (and bench/soak.py).

What an operator runs, nothing in-process: a fresh PostgreSQL database per test migrated
with `teaminbox migrate`, N `teaminbox serve --port P` subprocesses configured only by
environment variables, each awaited on `/readyz`, and always stopped. Also private
`redis-server` and PostgreSQL servers that a test may stop and start again on the same
port (the shared ones are never touched), and a small graphql-transport-ws client (the
`websockets` library) that records what it receives and when.

Every wait is bounded; a hang becomes a failure that shows the instance's log.
"""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from server.webhook import sign

REPO = Path(__file__).resolve().parent.parent
OPERATIONS_DIR = REPO / "graphql" / "operations"
TEST_DATABASE_URL = os.environ.get("TEAMINBOX_TEST_DATABASE_URL", "")
TEST_BROADCAST_URL = os.environ.get("TEAMINBOX_TEST_BROADCAST_URL", "")
PASSWORD = "correct-horse-battery"
START_TIMEOUT = 30.0  # an instance must answer /readyz 200 within this
STOP_TIMEOUT = 15.0  # SIGTERM, then SIGKILL after this

_counter = itertools.count(1)


def teaminbox_bin() -> str:
    """The `teaminbox` console script of the running virtualenv."""
    candidate = Path(sys.executable).parent / "teaminbox"
    return str(candidate if candidate.exists() else REPO / ".venv" / "bin" / "teaminbox")


def skip_reason() -> str | None:
    """Why the multi-instance tests cannot run here, or None when they can."""
    if not TEST_DATABASE_URL.startswith("postgres"):
        return ("multi-instance tests run in the PostgreSQL + Redis pass: set TEAMINBOX_TEST_DATABASE_URL=postgres://... "
                "and TEAMINBOX_TEST_BROADCAST_URL=redis://...")
    if not TEST_BROADCAST_URL.startswith("redis"):
        return "multi-instance tests run in the PostgreSQL + Redis pass: set TEAMINBOX_TEST_BROADCAST_URL=redis://..."
    if shutil.which("redis-server") is None:
        return "redis-server is not on PATH: the multi-instance tests start a private Redis of their own"
    return None


def operation(name: str) -> str:
    return (OPERATIONS_DIR / f"{name}.graphql").read_text()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _stop_process(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
    return process.returncode


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


# --- private servers ------------------------------------------------------------------

class RedisServer:
    """A throwaway redis-server on a free port that can be killed and started again there."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not on PATH")
        self._binary = binary
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen | None = None

    def start(self, timeout: float = 10) -> None:
        self._process = subprocess.Popen(
            [self._binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while not _port_open(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL: every client connection drops at once, as in a crash."""
        if self._process is not None:
            _stop_process(self._process, signal.SIGKILL)
        self._process = None

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.kill()


class PostgresServer:
    """A private PostgreSQL cluster (initdb in a temp dir, on a free port) that a test may
    stop and start again. Run as the `postgres` OS user when this process is root."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"
        self._bin = self._find_bin()
        self._dir = Path(tempfile.mkdtemp(prefix="teaminbox-pg-"))
        self._data = self._dir / "data"
        self._as_user: list[str] = []
        self._frozen: list[int] = []

    @staticmethod
    def unavailable_reason() -> str | None:
        if PostgresServer._find_bin() is None:
            return "no PostgreSQL server binaries (initdb, pg_ctl) to start a private cluster"
        if os.geteuid() == 0 and (shutil.which("runuser") is None or not _user_exists("postgres")):
            return "running as root without `runuser` and a `postgres` OS user: cannot start a private PostgreSQL"
        return None

    @staticmethod
    def _find_bin() -> Path | None:
        for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
            if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
                return candidate
        initdb = shutil.which("initdb")
        return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None

    def _run(self, *args: str, timeout: float = 60) -> None:
        result = subprocess.run([*self._as_user, *args], capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed: {result.stderr[-2000:]}{self.log_tail()}")

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self._dir, "postgres", "postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self._run(str(self._bin / "initdb"), "-D", str(self._data), "-A", "trust", "-U", "postgres", "--no-sync",
                  "-E", "UTF8")

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self._dir} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60")
        self._run(str(self._bin / "pg_ctl"), "-D", str(self._data), "-l", str(self._dir / "log"), "-o", options,
                  "-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        """`fast`: backends are terminated, clients see their connections close."""
        self._run(str(self._bin / "pg_ctl"), "-D", str(self._data), "-m", mode, "-w", "-t", "30", "stop")

    def _processes(self) -> list[int]:
        postmaster = int((self._data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True).stdout.split()
        return [postmaster, *map(int, children)]

    def freeze(self) -> None:
        """SIGSTOP the server and its backends: connections stay open, nothing answers
        (a hung host, or a network partition, as the clients see it)."""
        self._frozen = self._processes()
        for pid in self._frozen:
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        frozen, self._frozen = self._frozen, []
        for pid in frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def log_tail(self) -> str:
        log = self._dir / "log"
        return "\n" + log.read_text()[-2000:] if log.exists() else ""

    def remove(self) -> None:
        self.thaw()
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        try:
            self.init()
            self.start()
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


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


# --- GraphQL over HTTP and the webhook ----------------------------------------------------

async def gql(http: httpx.AsyncClient, base_url: str, query: str, variables: dict | None = None,
              token: str | None = None) -> dict:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await http.post(f"{base_url}/graphql", json={"query": query, "variables": variables or {}},
                               headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def data(result: dict) -> dict:
    assert not result.get("errors"), result.get("errors")
    return result["data"]


@dataclass
class Member:
    id: str
    email: str
    token: str


@dataclass
class Team:
    account_id: int
    webhook_secret: str
    admin: Member
    members: dict[str, Member] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Member:
        return self.members[name]


async def login(http: httpx.AsyncClient, base_url: str, email: str) -> str:
    result = data(await gql(http, base_url, operation("Login"), {"email": email, "password": PASSWORD}))["login"]
    assert result["userErrors"] == [], result
    return result["token"]


async def create_team(http: httpx.AsyncClient, env: dict[str, str], base_url: str,
                      names: tuple[str, ...] = ("bob", "carol"), plan: str = "TEAM") -> Team:
    """An account made with `teaminbox create-account`, plus agents added by its admin."""
    n = f"{next(_counter)}{uuid.uuid4().hex[:6]}"
    admin_email = f"admin{n}@team{n}.test"
    created = json.loads(await asyncio.to_thread(
        run_cli, env, "create-account", "--name", f"Team {n}", "--plan", plan, "--admin-email", admin_email,
        "--admin-password", PASSWORD, "--admin-name", f"Admin Number{n}"))
    admin = Member(created["adminId"], admin_email, await login(http, base_url, admin_email))
    team = Team(int(created["accountId"]), created["webhookSecret"], admin)
    for name in names:
        email = f"{name}{n}@team{n}.test"
        result = data(await gql(http, base_url, operation("CreateUser"), {"input": {
            "email": email, "name": f"{name.capitalize()} Tester", "role": "AGENT", "password": PASSWORD,
        }}, token=admin.token))["createUser"]
        assert result["userErrors"] == [], result
        team.members[name] = Member(result["user"]["id"], email, await login(http, base_url, email))
    return team


def inbound_body(phone: str, external_id: str, body: str = "Hello") -> bytes:
    return orjson.dumps({"id": external_id, "from": phone, "to": "+14155550100", "body": body})


async def post_inbound(http: httpx.AsyncClient, base_url: str, team: Team, phone: str, external_id: str | None = None,
                       body: str = "Hello") -> httpx.Response:
    raw = inbound_body(phone, external_id or f"ext-{uuid.uuid4().hex}", body)
    return await http.post(f"{base_url}/webhooks/inbound/{team.account_id}", content=raw,
                           headers={"x-signature": sign(team.webhook_secret, raw), "content-type": "application/json"})


# --- graphql-transport-ws client ----------------------------------------------------------

class SocketClosed(Exception):
    pass


@dataclass
class Received:
    payload: dict
    at: float  # time.time() on receipt


class Stream:
    """One subscription on a GraphQLSocket: what it received, and how it ended."""

    def __init__(self, socket_: GraphQLSocket, id_: str) -> None:
        self.socket = socket_
        self.id = id_
        self.items: list[Received] = []
        self.errors: list[Any] = []
        self.completed = False

    @property
    def data(self) -> list[dict]:
        return [item.payload.get("data") for item in self.items]

    async def wait_for(self, predicate: Callable[[dict], bool], timeout: float = 10) -> dict:
        """The first received `data` matching `predicate`, waiting up to `timeout`."""
        async def find() -> dict:
            checked = 0
            while True:
                for item in self.items[checked:]:
                    payload = item.payload.get("data")
                    if payload is not None and predicate(payload):
                        return payload
                checked = len(self.items)
                if self.errors:
                    raise AssertionError(f"subscription {self.id} failed: {self.errors}")
                if self.completed or self.socket.closed.is_set():
                    raise SocketClosed(f"subscription {self.id} ended without a match; got {self.data}")
                await self.socket.wait_change()
        return await asyncio.wait_for(find(), timeout)

    async def wait_count(self, predicate: Callable[[dict], bool], count: int, timeout: float = 10) -> list[dict]:
        """Wait until `count` received items match `predicate`; returns them."""
        async def enough() -> list[dict]:
            while True:
                matching = [d for d in self.data if d is not None and predicate(d)]
                if len(matching) >= count:
                    return matching
                if self.errors:
                    raise AssertionError(f"subscription {self.id} failed: {self.errors}")
                if self.completed or self.socket.closed.is_set():
                    raise SocketClosed(f"subscription {self.id} ended with {len(matching)}/{count}: {self.data}")
                await self.socket.wait_change()
        try:
            return await asyncio.wait_for(enough(), timeout)
        except asyncio.TimeoutError:
            matching = [d for d in self.data if d is not None and predicate(d)]
            raise AssertionError(f"only {len(matching)}/{count} items within {timeout}s: {matching}") from None


class GraphQLSocket:
    """A graphql-transport-ws connection (token in `connection_init`) with subscriptions."""

    def __init__(self, url: str, token: str | None) -> None:
        self.url = url
        self.token = token
        self.streams: dict[str, Stream] = {}
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task | None = None
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()

    async def connect(self, timeout: float = 10) -> GraphQLSocket:
        self._ws = await asyncio.wait_for(
            connect(self.url, subprotocols=["graphql-transport-ws"], open_timeout=timeout, close_timeout=2,
                    max_size=2**22, ping_interval=None), timeout)
        init = {"authorization": f"Bearer {self.token}"} if self.token else {}
        await self._ws.send(json.dumps({"type": "connection_init", "payload": init}))
        ack = json.loads(await asyncio.wait_for(self._ws.recv(), timeout))
        if ack.get("type") != "connection_ack":
            raise AssertionError(f"expected connection_ack, got {ack}")
        self._reader = asyncio.create_task(self._read())
        return self

    async def subscribe(self, query: str, variables: dict | None = None) -> Stream:
        assert self._ws is not None
        id_ = str(next(self._ids))
        stream = self.streams[id_] = Stream(self, id_)
        await self._ws.send(json.dumps({"id": id_, "type": "subscribe",
                                        "payload": {"query": query, "variables": variables or {}}}))
        return stream

    async def wait_change(self) -> None:
        self._changed.clear()
        await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for raw in self._ws:
                message = json.loads(raw)
                kind, stream = message.get("type"), self.streams.get(message.get("id", ""))
                if kind == "ping":
                    await self._ws.send(json.dumps({"type": "pong"}))
                elif kind == "next" and stream is not None:
                    stream.items.append(Received(message["payload"], time.time()))
                elif kind == "error" and stream is not None:
                    stream.errors.append(message.get("payload"))
                elif kind == "complete" and stream is not None:
                    stream.completed = True
                self._notify()
        except ConnectionClosed:
            pass
        finally:
            self.close_code = self._ws.close_code
            self.closed.set()
            self._notify()

    async def close(self) -> None:
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), 5)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader


@contextlib.asynccontextmanager
async def ws_client(url: str, token: str | None) -> AsyncIterator[GraphQLSocket]:
    client = await GraphQLSocket(url, token).connect()
    try:
        yield client
    finally:
        await client.close()


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
