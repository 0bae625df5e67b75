"""EventBus on the in-process backends: always runs, no Redis needed.

`RecordingMemoryBackend` is broadcaster's MemoryBackend plus two things a network
backend has: subscribe() yields to the event loop (a round trip), and the connection
can be dropped. That is enough to show the races and failures stock broadcaster has.
"""
from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

import pytest
from broadcaster import Event
from broadcaster._backends.memory import MemoryBackend

from subscriptions.bus import BusSignal, BusUnavailable, EventBus
from tests.support.waiting import until

TIMEOUT = 5  # seconds; only to turn a hang into a failure


class _Drop:
    """Queued to make the blocked reader fail, as a dropped socket would."""


class RecordingMemoryBackend(MemoryBackend):
    def __init__(self) -> None:
        super().__init__("memory://")
        self.subscribe_calls: Counter[str] = Counter()
        self.unsubscribe_calls: Counter[str] = Counter()
        self.connect_calls = 0
        self.down = False

    async def connect(self) -> None:
        self.connect_calls += 1
        if self.down:
            raise ConnectionError("backend is down")
        self._subscribed = set()  # a new connection starts with no subscriptions
        await super().connect()

    async def subscribe(self, channel: str) -> None:
        self._fail_if_down()
        self.subscribe_calls[channel] += 1
        await asyncio.sleep(0)  # the SUBSCRIBE round trip, where concurrent callers interleave
        await super().subscribe(channel)

    async def unsubscribe(self, channel: str) -> None:
        self._fail_if_down()
        self.unsubscribe_calls[channel] += 1
        self._subscribed.discard(channel)

    async def publish(self, channel: str, message: str) -> None:
        self._fail_if_down()
        await super().publish(channel, message)

    async def next_published(self) -> Event:
        while True:
            event = await self._published.get()
            if isinstance(event, _Drop):
                raise ConnectionError("connection lost")
            if event.channel in self._subscribed:
                return event

    def drop_connection(self, *, stay_down: bool) -> None:
        self.down = stay_down
        self._published.put_nowait(_Drop())  # type: ignore[arg-type]

    def _fail_if_down(self) -> None:
        if self.down:
            raise ConnectionError("backend is down")


async def next_item(subscription):
    return await asyncio.wait_for(subscription.__anext__(), TIMEOUT)


async def wait_until(condition: Callable[[], bool], what: str) -> None:
    await until(condition, what, timeout=TIMEOUT)


@pytest.fixture
async def backend():
    return RecordingMemoryBackend()


@pytest.fixture
async def bus(backend):
    async with EventBus("memory://", queue_size=8, reconnect_min_delay=0.01, reconnect_max_delay=0.05,
                        backend=backend) as bus:
        yield bus


async def test_payloads_come_out_exactly_as_they_went_in():
    # given
    payloads = ['{"seq": 1}', '{"text": "héllo 👋 \\u00e9 \\"quoted\\""}', "{}", " spaced "]
    async with EventBus("memory://") as bus, bus.subscribe("account:1") as subscription:
        # when
        for payload in payloads:
            await bus.publish("account:1", payload)
        # then
        assert [await next_item(subscription) for _ in payloads] == payloads


async def test_subscribe_many_feeds_one_stream_from_several_channels(bus):
    async with bus.subscribe_many(["account:1", "user:7"]) as subscription:
        await bus.publish("user:7", "for the user")
        await bus.publish("conversation:3", "not watched")
        await bus.publish("account:1", "for the account")

        assert await next_item(subscription) == "for the user"
        assert await next_item(subscription) == "for the account"
        assert subscription.pending == 0


async def test_concurrent_first_subscribers_share_one_backend_subscription(bus, backend):
    # given fifty subscribers arriving at once on a channel nobody watches yet
    all_in = asyncio.Event()
    entered = 0

    async def subscriber() -> str:
        nonlocal entered
        async with bus.subscribe("conversation:42") as subscription:
            entered += 1
            if entered == 50:
                all_in.set()
            return await next_item(subscription)

    tasks = [asyncio.create_task(subscriber()) for _ in range(50)]
    await asyncio.wait_for(all_in.wait(), TIMEOUT)

    # then one SUBSCRIBE was sent (stock broadcaster sends fifty and keeps one queue)
    assert backend.subscribe_calls["conversation:42"] == 1

    # when
    await bus.publish("conversation:42", '{"seq": 1}')

    # then everybody got it, and the last one out unsubscribed, once
    assert await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT) == ['{"seq": 1}'] * 50
    assert backend.unsubscribe_calls["conversation:42"] == 1
    assert bus._channels.refcount("conversation:42") == 0


async def test_only_the_last_subscriber_leaving_unsubscribes(bus, backend):
    async with bus.subscribe("user:7"):
        async with bus.subscribe("user:7"):
            pass
        assert backend.unsubscribe_calls["user:7"] == 0
    assert backend.unsubscribe_calls["user:7"] == 1

    async with bus.subscribe("user:7") as subscription:  # and coming back subscribes again
        await bus.publish("user:7", "again")
        assert await next_item(subscription) == "again"
    assert backend.subscribe_calls["user:7"] == 2


async def test_slow_subscriber_is_overflowed_while_others_keep_receiving(bus):
    # given a subscriber that never reads, and one that reads everything
    queue_size = 8
    received: list[str] = []

    async def read_all(subscription) -> None:
        async for item in subscription:
            received.append(item)

    async with bus.subscribe("account:1") as slow, bus.subscribe("account:1") as fast:
        reader = asyncio.create_task(read_all(fast))

        # when four queues' worth is published
        sent = [f'{{"seq": {n}}}' for n in range(queue_size * 4)]
        def received_count(count: int) -> Callable[[], bool]:
            return lambda: len(received) == count

        for n, message in enumerate(sent):
            await asyncio.wait_for(bus.publish("account:1", message), TIMEOUT)  # never blocked
            await wait_until(received_count(n + 1), f"message {n} reached the fast subscriber")
            assert slow.pending <= queue_size  # bounded, whatever the slow one does

        # then the slow one learns it overflowed, and its stream ends there
        assert slow.pending == 1
        assert await next_item(slow) is BusSignal.OVERFLOWED
        with pytest.raises(StopAsyncIteration):
            await next_item(slow)
        # and the fast one got everything, in order
        assert received == sent
        reader.cancel()


async def test_cancelled_consumer_still_gives_its_channel_back(bus, backend):
    inside = asyncio.Event()

    async def consumer() -> None:
        async with bus.subscribe("conversation:9") as subscription:
            inside.set()
            await subscription.__anext__()

    task = asyncio.create_task(consumer())
    await asyncio.wait_for(inside.wait(), TIMEOUT)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    await wait_until(lambda: backend.unsubscribe_calls["conversation:9"] == 1, "the channel is unsubscribed")
    assert bus._channels.refcount("conversation:9") == 0


async def test_disconnect_ends_open_streams(backend):
    bus = EventBus("memory://", backend=backend)
    await bus.connect()
    async with bus.subscribe("account:1") as subscription:
        reader = asyncio.create_task(anext_or_end(subscription))
        await asyncio.sleep(0)
        await bus.disconnect()
        assert await asyncio.wait_for(reader, TIMEOUT) == "end"
    assert not bus.healthy


async def test_a_disconnected_bus_can_connect_again(backend):
    bus = EventBus("memory://", backend=backend)
    await bus.connect()
    async with bus.subscribe("account:1") as subscription:
        await bus.disconnect()
        assert await anext_or_end(subscription) == "end"

    await bus.connect()
    async with bus.subscribe("account:1") as subscription:
        await bus.publish("account:1", "second life")
        assert await next_item(subscription) == "second life"
    await bus.disconnect()


async def anext_or_end(subscription) -> str:
    async for item in subscription:
        return item
    return "end"


async def test_dropped_backend_is_reconnected_resubscribed_and_subscribers_told(bus, backend):
    async with bus.subscribe("account:1") as subscription:
        # when the connection drops and the backend stays down for a while
        backend.drop_connection(stay_down=True)
        await wait_until(lambda: not bus.healthy, "the bus notices the drop")
        bus.operation_timeout = 0.2
        with pytest.raises(BusUnavailable):
            await bus.publish("account:1", "lost")
        with pytest.raises(BusUnavailable):
            async with bus.subscribe("user:7"):
                pass
        await wait_until(lambda: backend.connect_calls >= 3, "the bus retries")

        # and comes back
        backend.down = False

        # then the subscriber is told to replay, the channel is subscribed again, and
        # live messages flow
        assert await next_item(subscription) is BusSignal.RESUBSCRIBED
        assert bus.healthy
        assert backend.subscribe_calls["account:1"] == 2
        await bus.publish("account:1", "after recovery")
        assert await next_item(subscription) == "after recovery"


async def test_resubscribed_reaches_a_multi_channel_subscriber_once(bus, backend):
    async with bus.subscribe_many(["account:1", "user:7"]) as subscription:
        backend.drop_connection(stay_down=False)
        assert await next_item(subscription) is BusSignal.RESUBSCRIBED
        await bus.publish("user:7", "live")
        assert await next_item(subscription) == "live"


async def test_publish_takes_json_strings_only(bus):
    with pytest.raises(TypeError):
        await bus.publish("account:1", b"bytes")


def test_unknown_url_scheme_is_refused():
    with pytest.raises(ValueError, match="kafka"):
        EventBus("kafka://localhost")
