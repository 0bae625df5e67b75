"""EventBus across a real Redis outage: a private redis-server on a free port is stopped
and started again on the same port. Skipped, with the reason, without `redis-server`."""
from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from subscriptions.bus import BusSignal, BusUnavailable, EventBus
from tests.support.services import RedisServer
from tests.support.waiting import until

TIMEOUT = 10  # seconds; only to turn a hang into a failure


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    reason = RedisServer.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with RedisServer() as server:
        yield server


async def next_item(subscription):
    return await asyncio.wait_for(subscription.__anext__(), TIMEOUT)


async def test_redis_restart_is_survived_and_subscribers_replay(redis_server):
    # given a subscriber on a healthy bus
    async with EventBus(redis_server.url, reconnect_min_delay=0.05, reconnect_max_delay=0.2) as bus:
        bus.operation_timeout = 0.5
        async with bus.subscribe("account:1") as subscription:
            await bus.publish("account:1", "before")
            assert await next_item(subscription) == "before"

            # when Redis goes away
            redis_server.kill()

            # then the bus says so, and refuses to publish after a short bounded attempt
            await until(lambda: not bus.healthy, "the bus to notice", timeout=TIMEOUT)
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
    redis_server.kill()
    with pytest.raises(BusUnavailable):
        await asyncio.wait_for(EventBus(redis_server.url).connect(), TIMEOUT)
