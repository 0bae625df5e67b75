"""EventBus across a real Redis outage: a private redis-server on a free port is stopped
and started again on the same port. Skipped, with the reason, without `redis-server`."""
from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis

from subscriptions.bus import BusSignal, BusUnavailable, EventBus

TIMEOUT = 10  # seconds; only to turn a hang into a failure


class RedisServer:
    """A throwaway redis-server that can be stopped and restarted on its port."""

    def __init__(self, binary: str) -> None:
        self._binary = binary
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            [self._binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
                return
            except redis.ConnectionError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"redis-server did not start on port {self.port}")
                time.sleep(0.02)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(TIMEOUT)
        self._process = None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not on PATH: cannot stop and restart a Redis for this test")
    server = RedisServer(binary)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def next_item(subscription):
    return await asyncio.wait_for(subscription.__anext__(), TIMEOUT)


async def wait_until_unhealthy(bus: EventBus) -> None:
    async def poll() -> None:
        while bus.healthy:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), TIMEOUT)


async def test_redis_restart_is_survived_and_subscribers_replay(redis_server):
    # given a subscriber on a healthy bus
    async with EventBus(redis_server.url, reconnect_min_delay=0.05, reconnect_max_delay=0.2) as bus:
        bus.operation_timeout = 0.5
        async with bus.subscribe("account:1") as subscription:
            await bus.publish("account:1", "before")
            assert await next_item(subscription) == "before"

            # when Redis goes away
            redis_server.stop()

            # then the bus says so, and refuses to publish after a short bounded attempt
            await wait_until_unhealthy(bus)
            with pytest.raises(BusUnavailable):
                await asyncio.wait_for(bus.publish("account:1", "into the void"), TIMEOUT)

            # when Redis is back on the same port
            redis_server.start()

            # then the subscriber is told to replay, and live messages flow again
            assert await next_item(subscription) is BusSignal.RESUBSCRIBED
            assert bus.healthy
            await bus.publish("account:1", "after")
            assert await next_item(subscription) == "after"


async def test_connect_fails_fast_when_redis_is_down(redis_server):
    redis_server.stop()
    with pytest.raises(BusUnavailable):
        await asyncio.wait_for(EventBus(redis_server.url).connect(), TIMEOUT)
