"""Per-account live feeds: the bus rings, the log answers.

Each process keeps one `AccountFeed` per account that has local subscribers. It listens
on the account's bus channel; a stored event arriving there is only a doorbell: the feed
reads every event after the last one it delivered from the durable log, in seq order,
and hands the same objects to every local subscriber. So:

- order and completeness come from the log, not from the bus (publishers may publish
  out of order; a Redis outage or an overflowed bus queue only delays the next read);
- one log query per doorbell per process, however many subscribers (fan-out costs no
  query per subscriber);
- live-only events (typing) are delivered straight from the bus message.

A subscriber that does not keep up overflows its bounded queue and is told to resync.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

from subscriptions.bus import BusSignal, EventBus
from subscriptions.events import BusEvent, account_channel
from subscriptions.log import events_after, latest_seq

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Overflowed:
    """The subscriber fell behind; its queue was dropped."""


OVERFLOWED = Overflowed()


@dataclass(frozen=True)
class Ended:
    """The subscriber's time is up (its login's expiry): nothing more after what is queued."""


ENDED = Ended()


class FeedSubscriber:
    def __init__(self, accepts: Callable[[BusEvent], bool], queue_size: int, conversation_id: int | None = None):
        self.accepts = accepts
        # Set when `accepts` takes nothing of another conversation (conversationEvents).
        self.conversation_id = conversation_id
        # One slot beyond the limit, for the marker that ends the queue (OVERFLOWED or ENDED).
        self.queue: asyncio.Queue[BusEvent | Overflowed | Ended] = asyncio.Queue(maxsize=queue_size + 1)
        self._limit = queue_size
        self.overflowed = False
        self.ended = False

    def end(self) -> None:
        if self.overflowed or self.ended:
            return
        self.ended = True
        self.queue.put_nowait(ENDED)

    def offer(self, event: BusEvent) -> None:
        if self.overflowed or self.ended or not self.accepts(event):
            return
        if self.queue.qsize() >= self._limit:
            self.overflowed = True
            while not self.queue.empty():  # it must resync anyway: free the memory now
                self.queue.get_nowait()
            self.queue.put_nowait(OVERFLOWED)
            return
        self.queue.put_nowait(event)


class AccountFeed:
    def __init__(self, bus: EventBus, account_id: int, kinds: frozenset[str], queue_size: int):
        self.bus = bus
        self.account_id = account_id
        self.kinds = kinds
        self.queue_size = queue_size
        self.subscribers: set[FeedSubscriber] = set()
        # The same subscribers by the one conversation they watch, or in `_anywhere`.
        self._watching: dict[int, set[FeedSubscriber]] = {}
        self._anywhere: set[FeedSubscriber] = set()
        self.last_seq = 0
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._failed: BaseException | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"account-feed-{self.account_id}")
        await self._ready.wait()
        if self._failed is not None:
            raise self._failed

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                async with self.bus.subscribe(account_channel(self.account_id)) as subscription:
                    if not self._ready.is_set():
                        self.last_seq = await latest_seq(self.account_id)
                        self._ready.set()
                    else:
                        await self._catch_up()  # we were away: read what we missed
                    async for item in subscription:
                        await self._handle(item)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if not self._ready.is_set():
                    self._failed = error
                    self._ready.set()
                    return
                log.warning("account feed %s interrupted (%r); resuming from the log", self.account_id, error)
                await asyncio.sleep(0.2)

    async def _handle(self, item: str | BusSignal) -> None:
        if isinstance(item, BusSignal):
            # RESUBSCRIBED: events may have gone by unheard. OVERFLOWED: the feed itself
            # fell behind on the bus; the stream ends and _run subscribes again.
            await self._catch_up()
            return
        event = BusEvent.from_json(item)
        if event.seq is None:
            self._deliver(event)
        elif event.seq > self.last_seq:
            await self._catch_up()

    async def _catch_up(self) -> None:
        async for event in events_after(self.account_id, self.last_seq, kinds=self.kinds):
            assert event.seq is not None  # read from the log: every stored event has its seq
            self.last_seq = event.seq
            self._deliver(event)

    def add(self, subscriber: FeedSubscriber) -> None:
        self.subscribers.add(subscriber)
        if subscriber.conversation_id is None:
            self._anywhere.add(subscriber)
        else:
            self._watching.setdefault(subscriber.conversation_id, set()).add(subscriber)

    def discard(self, subscriber: FeedSubscriber) -> None:
        self.subscribers.discard(subscriber)
        self._anywhere.discard(subscriber)
        if subscriber.conversation_id is None:
            return
        watching = self._watching.get(subscriber.conversation_id)
        if watching is not None:
            watching.discard(subscriber)
            if not watching:
                del self._watching[subscriber.conversation_id]

    def _deliver(self, event: BusEvent) -> None:
        # Subscribers watching another conversation would refuse this event: with
        # thousands of threads open, asking each of them costs more than the delivery.
        # Events of no conversation (access revoked) are for everyone to judge.
        if event.conversation_id is None:
            targets = list(self.subscribers)
        else:
            targets = [*self._anywhere, *self._watching.get(event.conversation_id, ())]
        for subscriber in targets:
            subscriber.offer(event)


class FeedRegistry:
    """The process's account feeds, created on first use and stopped with the last user."""

    def __init__(self, bus: EventBus, kinds: frozenset[str], queue_size: int):
        self.bus = bus
        self.kinds = kinds
        self.queue_size = queue_size
        self._feeds: dict[int, AccountFeed] = {}
        self._users: dict[int, int] = {}
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def subscribe(
        self, account_id: int, accepts: Callable[[BusEvent], bool], conversation_id: int | None = None
    ) -> AsyncIterator[tuple[FeedSubscriber, int]]:
        """A subscriber registered on the account's feed, and the seq the feed has
        delivered up to at that instant: replay the log up to it, then read the queue.
        With `conversation_id`, `accepts` must refuse every event of another conversation."""
        async with self._lock:
            feed = self._feeds.get(account_id)
            if feed is None:
                feed = AccountFeed(self.bus, account_id, self.kinds, self.queue_size)
                await feed.start()
                self._feeds[account_id] = feed
            self._users[account_id] = self._users.get(account_id, 0) + 1
        subscriber = FeedSubscriber(accepts, self.queue_size, conversation_id)
        feed.add(subscriber)  # no await between this and reading last_seq
        try:
            yield subscriber, feed.last_seq
        finally:
            feed.discard(subscriber)
            await asyncio.shield(self._release(account_id))

    async def _release(self, account_id: int) -> None:
        async with self._lock:
            self._users[account_id] -= 1
            if self._users[account_id] == 0:
                del self._users[account_id]
                await self._feeds.pop(account_id).stop()

    async def close(self) -> None:
        async with self._lock:
            for feed in self._feeds.values():
                await feed.stop()
            self._feeds.clear()
            self._users.clear()
