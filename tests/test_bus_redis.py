"""EventBus on the shared Redis at 127.0.0.1:6379 (skipped, with the reason, if it is not
reachable). Channel names are unique per test, so parallel runs do not interfere."""
from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import pytest
import redis
from redis.asyncio import Redis

from subscriptions.bus import BusSignal, EventBus
from subscriptions.bus_redis import RedisPubSubBackend

REDIS_URL = "redis://127.0.0.1:6379/0"
TIMEOUT = 5  # seconds; only to turn a hang into a failure


@pytest.fixture(scope="module")
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at 127.0.0.1:6379: {exc}")
    return REDIS_URL


@pytest.fixture
async def admin(redis_url):
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def channel() -> str:
    return f"test-bus:{uuid.uuid4().hex}"


class CountingRedisBackend(RedisPubSubBackend):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.subscribe_calls: Counter[str] = Counter()
        self.unsubscribe_calls: Counter[str] = Counter()

    async def subscribe(self, channel: str) -> None:
        self.subscribe_calls[channel] += 1
        await super().subscribe(channel)

    async def unsubscribe(self, channel: str) -> None:
        self.unsubscribe_calls[channel] += 1
        await super().unsubscribe(channel)


async def next_item(subscription):
    return await asyncio.wait_for(subscription.__anext__(), TIMEOUT)


async def numsub(admin: Redis, channel: str) -> int:
    [(_, count)] = await admin.pubsub_numsub(channel)
    return count


async def test_first_subscriber_on_a_fresh_connection_gets_the_first_message(redis_url, channel):
    # Stock broadcaster 0.3.1 + redis-py 8 never delivers this one (see bus_redis.py).
    async with EventBus(redis_url) as bus, bus.subscribe(channel) as subscription:
        await bus.publish(channel, '{"seq": 1}')  # right after subscribe() returned
        assert await next_item(subscription) == '{"seq": 1}'


async def test_payloads_come_out_exactly_as_they_went_in(redis_url, channel):
    payloads = ['{"seq": 1}', '{"text": "héllo 👋 \\u00e9 \\"quoted\\""}', "{}", " spaced "]
    async with EventBus(redis_url) as bus, bus.subscribe(channel) as subscription:
        for payload in payloads:
            await bus.publish(channel, payload)
        assert [await next_item(subscription) for _ in payloads] == payloads


async def test_subscribe_many_feeds_one_stream(redis_url, channel):
    async with EventBus(redis_url) as bus, bus.subscribe_many([f"{channel}:a", f"{channel}:b"]) as subscription:
        await bus.publish(f"{channel}:b", "b")
        await bus.publish(f"{channel}:a", "a")
        assert [await next_item(subscription), await next_item(subscription)] == ["b", "a"]


async def test_publishing_and_listening_use_separate_connections(redis_url, admin, channel):
    backend = RedisPubSubBackend(redis_url)
    async with EventBus(redis_url, backend=backend) as bus, bus.subscribe(channel) as subscription:
        await bus.publish(channel, "hello")
        assert await next_item(subscription) == "hello"

        clients = [c for c in await admin.client_list() if c["name"].startswith(backend.client_name)]
        by_name = {c["name"]: c for c in clients}
        assert set(by_name) == {backend.client_name, f"{backend.client_name}-publisher"}
        assert by_name[backend.client_name]["sub"] == "1"
        assert by_name[f"{backend.client_name}-publisher"]["sub"] == "0"


async def test_concurrent_first_subscribers_share_one_redis_subscription(redis_url, admin, channel):
    backend = CountingRedisBackend(redis_url)
    async with EventBus(redis_url, backend=backend) as bus:
        all_in = asyncio.Event()
        entered = 0

        async def subscriber() -> str:
            nonlocal entered
            async with bus.subscribe(channel) as subscription:
                entered += 1
                if entered == 50:
                    all_in.set()
                return await next_item(subscription)

        tasks = [asyncio.create_task(subscriber()) for _ in range(50)]
        await asyncio.wait_for(all_in.wait(), TIMEOUT)

        assert backend.subscribe_calls[channel] == 1
        assert await numsub(admin, channel) == 1

        await bus.publish(channel, '{"seq": 7}')

        assert await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT) == ['{"seq": 7}'] * 50
        assert backend.unsubscribe_calls[channel] == 1
        assert await numsub(admin, channel) == 0  # unsubscribe() waited for Redis to confirm


async def test_slow_subscriber_is_overflowed_while_others_keep_receiving(redis_url, channel):
    queue_size = 8
    received: list[str] = []

    async def read_all(subscription) -> None:
        async for item in subscription:
            received.append(item)

    async with EventBus(redis_url, queue_size=queue_size) as bus:
        async with bus.subscribe(channel) as slow, bus.subscribe(channel) as fast:
            reader = asyncio.create_task(read_all(fast))
            sent = [f'{{"seq": {n}}}' for n in range(queue_size * 4)]
            for n, message in enumerate(sent):
                await asyncio.wait_for(bus.publish(channel, message), TIMEOUT)
                while len(received) < n + 1:
                    await asyncio.wait_for(asyncio.sleep(0.005), TIMEOUT)
                    assert slow.pending <= queue_size
                assert slow.pending <= queue_size

            assert await next_item(slow) is BusSignal.OVERFLOWED
            with pytest.raises(StopAsyncIteration):
                await next_item(slow)
            assert received == sent
            reader.cancel()


async def test_killed_listener_connection_is_replaced_and_subscribers_told(redis_url, admin, channel):
    # given
    backend = RedisPubSubBackend(redis_url)
    async with EventBus(redis_url, backend=backend, reconnect_max_delay=0.2) as bus:
        async with bus.subscribe(channel) as subscription:
            [listener] = [c for c in await admin.client_list(_type="pubsub") if c["name"] == backend.client_name]

            # when exactly our listener connection is killed
            killed = await admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub", "ID", listener["id"])
            assert killed == 1

            # then
            assert await next_item(subscription) is BusSignal.RESUBSCRIBED
            assert bus.healthy
            assert await numsub(admin, channel) == 1
            await bus.publish(channel, "after the kill")
            assert await next_item(subscription) == "after the kill"
