"""The event bus: our robust wrapper over broadcaster (DESIGN.md §4).

The bus is the doorbell, the database log is the source of truth. So the bus never
buffers without limit and never hides a gap: a subscriber that falls behind is
overflowed, and after a backend outage every subscriber is told to replay from the log.

    async with bus.subscribe_many(["account:1", "user:7"]) as subscription:
        async for item in subscription:      # str payloads and BusSignal values
            ...

Backends follow broadcaster's `BroadcastBackend` interface: `memory://` is broadcaster's
own MemoryBackend; `redis://` is `RedisPubSubBackend` (see bus_redis.py for why
broadcaster's is not used). broadcaster's `Broadcast` front end is replaced: its
subscribe races, its queues are unbounded and its listener dies on the first error.
"""
from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from typing import Any
from urllib.parse import urlparse

from broadcaster import BroadcastBackend

from subscriptions.bus_channels import ChannelRegistry
from subscriptions.bus_subscription import BusSignal, Subscription

__all__ = ["BusSignal", "BusUnavailable", "EventBus", "Subscription", "create_backend"]

log = logging.getLogger(__name__)


class BusUnavailable(Exception):
    """The backend could not be reached within a short, bounded attempt."""


def create_backend(url: str) -> BroadcastBackend:
    scheme = urlparse(url).scheme
    if scheme == "memory":
        from broadcaster._backends.memory import MemoryBackend

        return MemoryBackend(url)
    if scheme in ("redis", "rediss"):
        from subscriptions.bus_redis import RedisPubSubBackend

        return RedisPubSubBackend(url)
    raise ValueError(f"unsupported event bus URL scheme {scheme!r} (use memory:// or redis://)")


class EventBus:
    # Upper bound for publish(), and for subscribe() waiting on a recovering backend.
    operation_timeout: float = 2.0

    def __init__(
        self,
        url: str,
        *,
        queue_size: int = 256,
        reconnect_min_delay: float = 0.05,
        reconnect_max_delay: float = 2.0,
        backend: BroadcastBackend | None = None,
        channel_prefix: str = "",
    ) -> None:
        """`backend` overrides the one chosen by `url` (tests, custom transports).
        `channel_prefix` namespaces every channel on the backend, so several deployments
        (or test runs) can share one Redis without hearing each other."""
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self._backend = backend or create_backend(url)
        self._queue_size = queue_size
        self._prefix = channel_prefix
        self._min_delay = reconnect_min_delay
        self._max_delay = max(reconnect_max_delay, reconnect_min_delay)
        self._channels = ChannelRegistry(self._backend)
        self._healthy = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None

    async def __aenter__(self) -> EventBus:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.disconnect()

    @property
    def healthy(self) -> bool:
        """False while the backend connection is down and being re-established."""
        return self._healthy.is_set()

    async def connect(self) -> None:
        """Connect, or raise BusUnavailable: failing fast at startup beats a deaf server."""
        if self._supervisor is not None:
            return
        try:
            await self._backend.connect()
        except Exception as exc:
            raise BusUnavailable(f"cannot connect the event bus: {exc}") from exc
        self._healthy.set()
        self._supervisor = asyncio.create_task(self._supervise(), name="event-bus-supervisor")

    async def disconnect(self) -> None:
        """Stop listening and end every open subscription's stream."""
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is None:
            return
        self._healthy.clear()
        supervisor.cancel()
        with suppress(asyncio.CancelledError):
            await supervisor
        for subscription in self._channels.all_receivers():
            subscription.close()
        self._channels = ChannelRegistry(self._backend)  # a later connect() starts afresh
        await self._backend.disconnect()

    async def publish(self, channel: str, message: str) -> None:
        """Send `message` (a JSON string) to every subscriber of `channel`, in any process."""
        if not isinstance(message, str):
            raise TypeError(f"bus messages are str (JSON), not {type(message).__name__}")
        self._require_connected()
        try:
            await asyncio.wait_for(self._backend.publish(self._prefix + channel, message), self.operation_timeout)
        except Exception as exc:
            raise BusUnavailable(f"cannot publish on {channel!r}: {exc!r}") from exc

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[Subscription]:
        return self.subscribe_many([channel])

    @asynccontextmanager
    async def subscribe_many(self, channels: list[str]) -> AsyncIterator[Subscription]:
        """One queue fed by several channels. Entered once every backend subscription is
        confirmed, so anything published afterwards is delivered (or signalled)."""
        names = tuple(dict.fromkeys(self._prefix + channel for channel in channels))  # dedupe, keep order
        if not names:
            raise ValueError("subscribe to at least one channel")
        self._require_connected()
        registry = self._channels
        subscription = Subscription(names, self._queue_size, on_overflow=registry.detach)
        await self._attach(registry, subscription)
        try:
            yield subscription
        finally:
            subscription.close()
            # Shielded: a cancelled consumer (client went away) must still give back its
            # references, or the channel would stay subscribed for good.
            await asyncio.shield(self._release(registry, subscription, subscription.channels))

    async def _attach(self, registry: ChannelRegistry, subscription: Subscription) -> None:
        if not self._healthy.is_set():
            try:
                await asyncio.wait_for(self._healthy.wait(), self.operation_timeout)
            except TimeoutError:
                raise BusUnavailable("the event bus backend is down") from None
        acquired: list[str] = []
        try:
            for channel in subscription.channels:
                await registry.acquire(channel, subscription)
                acquired.append(channel)
        except BaseException as exc:
            await asyncio.shield(self._release(registry, subscription, acquired))
            if isinstance(exc, Exception):
                raise BusUnavailable(f"cannot subscribe to {subscription.channels}: {exc!r}") from exc
            raise

    async def _release(self, registry: ChannelRegistry, subscription: Subscription, channels: Sequence[str]) -> None:
        if registry is not self._channels:  # the bus was disconnected meanwhile; nothing to give back
            return
        for channel in channels:
            await registry.release(channel, subscription)

    def _require_connected(self) -> None:
        if self._supervisor is None:
            raise RuntimeError("EventBus is not connected: call connect() first")

    async def _supervise(self) -> None:
        """Run the reader; when the backend fails, reconnect with backoff, resubscribe,
        and tell every subscriber to replay. Never gives up while the bus is connected."""
        recovering = False
        while True:
            reader = asyncio.create_task(self._read_and_fan_out(), name="event-bus-reader")
            try:
                if recovering:
                    # The reader must already run: it receives the confirmations.
                    await self._channels.resubscribe_all()
                    self._healthy.set()
                    for subscription in self._channels.all_receivers():
                        subscription.offer(BusSignal.RESUBSCRIBED)
                    log.warning("event bus reconnected; subscribers will replay from the log")
                await reader  # only ever ends by raising
            except Exception as exc:
                log.warning("event bus connection lost (%r); reconnecting", exc)
            finally:
                reader.cancel()
                with suppress(BaseException):
                    await reader
            self._healthy.clear()
            await self._reconnect_with_backoff()
            recovering = True

    async def _reconnect_with_backoff(self) -> None:
        delay = self._min_delay
        while True:
            with suppress(Exception):
                await self._backend.disconnect()
            # Jitter, so that every server instance does not reconnect in the same instant.
            await asyncio.sleep(random.uniform(delay / 2, delay))
            try:
                await self._backend.connect()
                return
            except Exception as exc:
                log.info("event bus reconnect failed (%r); next try in <= %.2fs", exc, delay * 2)
            delay = min(delay * 2, self._max_delay)

    async def _read_and_fan_out(self) -> None:
        while True:
            event = await self._backend.next_published()
            for subscription in self._channels.receivers(event.channel):
                subscription.offer(event.message)
            # Let consumers waiting on their queues run between messages, so a burst
            # overflows only the subscribers that are really not reading.
            await asyncio.sleep(0)
