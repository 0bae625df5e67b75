"""The provider emulator as the benchmark uses it: a subprocess (bench/delivery/emulator.py)
started on a free port, its arrivals collected, and its ceiling measured: how many
requests per second it takes when the WEBHOOK provider's own `send` (providers/webhook.py:
signed JSON over an httpx client with the worker's defaults) drives it directly, with the
worker's concurrency and no database in the way."""
from __future__ import annotations

import asyncio
import os
import secrets
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

from bench.common.http import RawHTTP
from bench.common.process import cpu_seconds, free_port
from bench.common.servers import Server, spawn
from providers.base import Credentials, OutboundMessage, SendOutcome
from providers.webhook import Webhook, sign


@dataclass
class Emulator:
    server: Server
    secret: str
    arrivals: dict[int, int] = field(default_factory=dict)  # our message id -> first arrival (monotonic ns)
    duplicates: int = 0  # arrivals of an id already seen: a reply sent twice
    requests: int = 0
    bad_signatures: int = 0
    unreadable: int = 0

    @property
    def url(self) -> str:
        return f"{self.server.http_url}/messages"

    async def collect(self, client: httpx.AsyncClient) -> dict[object, int]:
        """What arrived since the last call (also merged into `arrivals` for positive ids,
        which are teaminbox's message ids)."""
        report = (await client.get(f"{self.server.http_url}/arrivals")).json()
        self.requests, self.bad_signatures = report["requests"], report["bad_signatures"]
        self.unreadable = report["unreadable"]
        batch: dict[object, int] = {}
        for key, at_ns, times in report["arrivals"]:
            batch[key] = at_ns
            if isinstance(key, int) and key > 0:
                if key in self.arrivals:
                    self.duplicates += times
                else:
                    self.arrivals[key] = at_ns
                    self.duplicates += times - 1
        return batch


async def start_emulator(workdir: Path) -> Emulator:
    port = free_port()
    secret = secrets.token_urlsafe(24)
    server = await spawn("emulator", [sys.executable, "-m", "bench.delivery.emulator", "--port", str(port),
                                      f"--secret={secret}"], dict(os.environ), workdir / "emulator.log", port)
    return Emulator(server, secret)


@dataclass
class Ceiling:
    concurrency: int
    seconds: float
    accepted: int
    other: int  # sends that were not ACCEPTED
    emulator_cpu: float  # % of one core
    driver_cpu: float  # % of one core: this process, the httpx side
    raw_rate: float = float("nan")  # requests/s from a bare keep-alive client: the emulator's own limit, nearly

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds if self.seconds else float("nan")


async def measure_ceiling(emulator: Emulator, concurrency: int, seconds: float, sender: str) -> Ceiling:
    """`concurrency` loops each sending, answer after answer, for `seconds` (after a
    warm-up); the ids are negative, so they never mix with teaminbox's. Then the same
    with a bare HTTP/1.1 client (bench/common/http.py), to show how far the emulator
    itself would go."""
    provider = Webhook()
    credentials = Credentials(api_key="", api_secret=emulator.secret, sender_number=sender, url=emulator.url)
    counter = iter(range(1, 10**9))
    accepted = other = 0
    counting = False

    async def loop(http: httpx.AsyncClient, until: float) -> None:
        nonlocal accepted, other
        while time.monotonic() < until:
            result = await provider.send(http, credentials, OutboundMessage(
                message_id=-next(counter), to_number="+14155550123", body="Thanks, we are on it.",
                status_url="http://127.0.0.1:9/webhooks/webhook/1/status"))
            if counting:
                if result.outcome is SendOutcome.ACCEPTED:
                    accepted += 1
                else:
                    other += 1

    async with httpx.AsyncClient() as http:  # the worker's: httpx's default limits
        await asyncio.gather(*(loop(http, time.monotonic() + min(1.0, seconds / 2)) for _ in range(concurrency)))
        counting = True
        emulator_cpu, driver_cpu, began = cpu_seconds(emulator.server.process.pid), time.process_time(), \
            time.monotonic()
        await asyncio.gather(*(loop(http, began + seconds) for _ in range(concurrency)))
        elapsed = time.monotonic() - began
        emulator_cpu = cpu_seconds(emulator.server.process.pid) - emulator_cpu
        driver_cpu = time.process_time() - driver_cpu
    raw = await _raw_rate(emulator, credentials, concurrency, min(2.0, seconds), counter)
    async with httpx.AsyncClient(timeout=30) as client:
        await emulator.collect(client)  # forget the ceiling's own ids
    return Ceiling(concurrency, elapsed, accepted, other, 100 * emulator_cpu / elapsed, 100 * driver_cpu / elapsed,
                   raw)


async def _raw_rate(emulator: Emulator, credentials: Credentials, concurrency: int, seconds: float,
                    counter: Iterator[int]) -> float:
    answered = 0

    async def loop(until: float) -> None:
        nonlocal answered
        async with RawHTTP("127.0.0.1", emulator.server.port) as http:
            while time.monotonic() < until:
                body = orjson.dumps({"id": -next(counter), "to": "+14155550123", "from": credentials.sender_number,
                                     "body": "Thanks, we are on it.", "statusUrl": "http://127.0.0.1:9/"})
                status, _ = await http.post("/messages", body, {"x-signature": sign(credentials.api_secret, body)})
                answered += status == 200

    began = time.monotonic()
    await asyncio.gather(*(loop(began + seconds) for _ in range(concurrency)))
    return answered / (time.monotonic() - began)
