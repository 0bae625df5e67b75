"""The two servers bench.fanout compares, each in its own subprocess on a free port.

`teaminbox serve` (SQLite temp file + memory:// bus by default) seeded through the CLI
(`teaminbox create-account`) and the API (createUser, login, one inbound webhook message
to create the conversation everyone watches); and bench/baseline_ws.py."""
from __future__ import annotations

import asyncio
import ctypes
import hashlib
import hmac
import os
import signal
import socket
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-1"
CUSTOMER_PHONE = "+14155550123"
COMPANY_PHONE = "+14155550100"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def die_with_parent() -> None:  # runs in the child before exec (Linux): no orphaned servers
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def teaminbox_command() -> list[str]:
    script = Path(sys.executable).with_name("teaminbox")
    return [str(script)] if script.exists() else [sys.executable, "-m", "server.cli"]


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

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await asyncio.wait_for(self.process.wait(), 10)


async def _spawn(name: str, argv: list[str], env: dict, log_path: Path, port: int) -> Server:
    log = open(log_path, "ab")
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
    return await _spawn("baseline", [sys.executable, "-m", "bench.baseline_ws", "--port", str(port)],
                        dict(os.environ), workdir / "baseline.log", port)


def teaminbox_env(workdir: Path, database_url: str | None, broadcast_url: str | None) -> dict:
    env = dict(os.environ)
    env["TEAMINBOX_DATABASE_URL"] = database_url or f"sqlite://{workdir / 'bench.db'}"
    env["TEAMINBOX_BROADCAST_URL"] = broadcast_url or "memory://"
    return env


async def _cli(env: dict, *args: str) -> bytes:
    process = await asyncio.create_subprocess_exec(
        *teaminbox_command(), *args, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, preexec_fn=die_with_parent,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), 120)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise RuntimeError(f"teaminbox {args[0]} timed out") from None
    if process.returncode != 0:
        raise RuntimeError(f"teaminbox {args[0]} failed ({process.returncode}): {err.decode()[-2000:]}")
    return out


async def start_teaminbox(workdir: Path, database_url: str | None, broadcast_url: str | None,
                          members: int) -> Server:
    env = teaminbox_env(workdir, database_url, broadcast_url)
    tag = uuid.uuid4().hex[:8]
    admin_email = f"admin-{tag}@bench.test"
    if database_url and not database_url.startswith("sqlite"):
        await _cli(env, "migrate")  # create-account migrates only the embedded SQLite
    created = orjson.loads(await _cli(env, "create-account", "--name", f"Bench {tag}", "--plan", "TEAM",
                                      "--admin-email", admin_email, "--admin-password", PASSWORD,
                                      "--admin-name", "Bench Admin"))
    port = free_port()
    server = await _spawn("teaminbox", [*teaminbox_command(), "serve", "--port", str(port)], env,
                          workdir / "teaminbox.log", port)
    try:
        server.account_id, server.webhook_secret = created["accountId"], created["webhookSecret"]
        await _seed(server, admin_email, tag, members)
    except BaseException:
        await server.stop()
        raise
    return server


async def _graphql(client: httpx.AsyncClient, query: str, variables: dict, token: str | None = None) -> dict:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    try:
        body = response.json()
    except ValueError:
        raise RuntimeError(f"GraphQL answered {response.status_code}: {response.text[:300]!r}") from None
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"GraphQL failed: {response.status_code} {body}")
    return body["data"]


async def _login(client: httpx.AsyncClient, email: str) -> str:
    data = await _graphql(client, "mutation($e:String!,$p:String!){login(email:$e,password:$p)"
                                  "{token userErrors{code message}}}", {"e": email, "p": PASSWORD})
    if data["login"]["userErrors"]:
        raise RuntimeError(f"login {email}: {data['login']['userErrors']}")
    return data["login"]["token"]


async def _seed(server: Server, admin_email: str, tag: str, members: int) -> None:
    async with httpx.AsyncClient(base_url=server.http_url, timeout=30) as client:
        admin = await _login(client, admin_email)
        server.tokens.append(admin)
        for k in range(members):
            email = f"agent{k}-{tag}@bench.test"
            data = await _graphql(client, "mutation($i:CreateUserInput!){createUser(input:$i){user{id} "
                                          "userErrors{code message}}}",
                                  {"i": {"email": email, "name": f"Agent {k}", "role": "AGENT", "password": PASSWORD}},
                                  admin)
            if data["createUser"]["userErrors"]:
                raise RuntimeError(f"createUser: {data['createUser']['userErrors']}")
            server.tokens.append(await _login(client, email))
        answer = await post_inbound(client, server, f"seed-{tag}", "Hello, this starts the benchmark thread")
        server.conversation_id = answer["conversationId"]


def sign(secret: str, body: bytes) -> str:  # as server/webhook.py
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def post_inbound(client: httpx.AsyncClient, server: Server, external_id: str, text: str,
                       phone: str = CUSTOMER_PHONE) -> dict:
    """A customer's message; each `phone` is a conversation of its own."""
    body = orjson.dumps({"id": external_id, "from": phone, "to": COMPANY_PHONE, "body": text})
    response = await client.post(f"/webhooks/inbound/{server.account_id}", content=body,
                                 headers={"x-signature": sign(server.webhook_secret, body),
                                          "content-type": "application/json"})
    if response.status_code != 200:
        raise RuntimeError(f"webhook answered {response.status_code}: {response.text}")
    return response.json()
