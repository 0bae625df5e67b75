"""The run's phases against one server: quiet logins, a flood from one client on the
admin's email, and a flood of made-up emails from many addresses; during each flood the
colleague keeps logging in (and, in the first, the admin), from their usual addresses."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx

from bench.common.api import PASSWORD
from bench.login_flood.attempts import Answer, FloodResult, flood, sequential, try_login

WRONG_PASSWORD = "not-the-password-1"
# Where each simulated client is, as the trusted proxy (127.0.0.1) forwards it.
ADMIN_HOME = "10.0.0.1"  # the admin's usual address: logged in from before the floods
COLLEAGUE_HOME = "10.0.0.2"
ATTACKER = "203.0.113.7"  # the single flooding client
ADMIN_ELSEWHERE = "198.51.100.9"  # an address the admin never used
PHASE_SECONDS = 60.0  # a flood stops sustaining itself after this; its minimum is always sent


def distributed_address(i: int) -> str:
    """A different address for each try (100.64.0.0/10, shared address space)."""
    return f"100.{64 + (i >> 16) % 64}.{(i >> 8) & 255}.{i & 255}"


@dataclass
class People:
    admin_email: str
    colleague_email: str
    tag: str


@dataclass
class FloodPhase:
    name: str
    minimum: int
    concurrency: int
    flood: FloodResult
    colleague: list[Answer]
    admin: list[tuple[str, str, Answer]] = field(default_factory=list)  # (when, from where, answer)


def _client(server_url: str, connections: int) -> httpx.AsyncClient:
    # Idle connections are dropped well before uvicorn's 5 s keep-alive timeout, so the
    # client never reuses one the server is closing.
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=2)
    return httpx.AsyncClient(base_url=server_url, timeout=60, limits=limits)


async def warm_up(server_url: str, people: People) -> None:
    """First logins from the usual addresses (each becomes a known address, audited once)."""
    async with _client(server_url, 1) as client:
        for email, address in ((people.admin_email, ADMIN_HOME), (people.colleague_email, COLLEAGUE_HOME)):
            for answer in await sequential(client, email, PASSWORD, address, 3):
                if answer.kind != "ok":
                    raise RuntimeError(f"warm-up login of {email} from {address}: {answer}")


async def quiet(server_url: str, people: People, logins: int) -> list[Answer]:
    async with _client(server_url, 1) as client:
        return await sequential(client, people.colleague_email, PASSWORD, COLLEAGUE_HOME, logins)


async def _flood_with_colleague(server_url: str, people: People, name: str, attempt, minimum: int,
                                concurrency: int, logins: int, admin_midway: bool) -> FloodPhase:
    """The flood runs until it sent `minimum` tries and the colleague made `logins` tries
    during it (or PHASE_SECONDS passed); the colleague keeps trying while it runs."""
    deadline = time.monotonic() + PHASE_SECONDS
    colleague: list[Answer] = []
    midway = asyncio.Event()
    phase = FloodPhase(name, minimum, concurrency, FloodResult(), colleague)

    def on_answer(answered: int) -> None:
        if answered >= minimum // 2:
            midway.set()

    async def admin_during(client: httpx.AsyncClient) -> None:
        await midway.wait()
        phase.admin.append(("during", f"usual address {ADMIN_HOME}",
                            await try_login(client, people.admin_email, PASSWORD, ADMIN_HOME)))

    async with _client(server_url, concurrency) as attacker, _client(server_url, 1) as colleague_client, \
            _client(server_url, 1) as admin_client:
        flooding = asyncio.create_task(flood(
            attacker, attempt, WRONG_PASSWORD, minimum, concurrency,
            keep_going=lambda: len(colleague) < logins and time.monotonic() < deadline, on_answer=on_answer))
        admin = asyncio.create_task(admin_during(admin_client)) if admin_midway else None
        await sequential(colleague_client, people.colleague_email, PASSWORD, COLLEAGUE_HOME, logins,
                         into=colleague, keep_going=lambda: not flooding.done(), deadline=deadline)
        phase.flood = await flooding
        if admin is not None:
            await admin
    return phase


async def single_client_flood(server_url: str, people: People, minimum: int, concurrency: int,
                              logins: int) -> FloodPhase:
    """One client guessing the admin's password; the admin logs in midway from the usual
    address, and after the flood from a new address and then from the usual one."""
    phase = await _flood_with_colleague(
        server_url, people, "single client", lambda i: (people.admin_email, ATTACKER), minimum, concurrency,
        logins, admin_midway=True)
    async with _client(server_url, 1) as client:
        # The new address first: a success forgets the email's failures.
        for where, address in ((f"new address {ADMIN_ELSEWHERE}", ADMIN_ELSEWHERE),
                               (f"usual address {ADMIN_HOME}", ADMIN_HOME)):
            phase.admin.append(("after", where, await try_login(client, people.admin_email, PASSWORD, address)))
    return phase


async def distributed_flood(server_url: str, people: People, minimum: int, concurrency: int,
                            logins: int) -> FloodPhase:
    """Made-up emails, each try from its own address: no failure count ever applies, only
    the bounded hashing queue stands in the way."""
    return await _flood_with_colleague(
        server_url, people, "distributed",
        lambda i: (f"guess{i}-{people.tag}@bench.test", distributed_address(i)), minimum, concurrency,
        logins, admin_midway=False)
