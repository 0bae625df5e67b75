"""One local subscriber's view of the bus: a bounded queue of payloads and signals.

The bus never blocks on a subscriber. It *offers* each item; a subscriber whose queue
is full is overflowed instead of buffered without limit: its pending items are dropped
(it has to resync from the durable log anyway), it gets `BusSignal.OVERFLOWED`, and its
stream ends there.
"""
from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable


class BusSignal(enum.Enum):
    """Out-of-band news for a subscriber, delivered in its stream between payloads."""

    # The backend connection dropped and came back; messages may have been missed, so
    # the subscriber must replay from the durable DB log.
    RESUBSCRIBED = "resubscribed"
    # This subscriber's bounded queue filled up; it has been removed from its channels.
    # The stream ends after this signal.
    OVERFLOWED = "overflowed"


class _EndOfStream:
    """Queued last when the subscription is closed, to wake a reader blocked in get()."""


_END = _EndOfStream()

Item = str | BusSignal


class Subscription:
    """Async-iterable stream of payloads (`str`) and `BusSignal`s from one or more channels.

    Created by `EventBus.subscribe()` / `subscribe_many()`; valid inside that context.
    """

    def __init__(
        self,
        channels: tuple[str, ...],
        queue_size: int,
        on_overflow: Callable[[Subscription], None],
    ) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self.channels = channels
        self._queue: asyncio.Queue[Item | _EndOfStream] = asyncio.Queue(maxsize=queue_size)
        self._on_overflow = on_overflow
        self._closed = False  # no more items will be accepted
        self._finished = False  # the reader has consumed the last item

    @property
    def pending(self) -> int:
        """Items waiting to be read; never more than the bus's queue_size."""
        return self._queue.qsize()

    @property
    def closed(self) -> bool:
        return self._closed

    def offer(self, item: Item) -> None:
        """Queue `item` without waiting; a full queue overflows this subscriber."""
        if self._closed:
            return
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self._finish_with(BusSignal.OVERFLOWED)
            self._on_overflow(self)

    def close(self) -> None:
        """End the stream (context exit or bus shutdown); a blocked reader wakes up."""
        if not self._closed:
            self._finish_with(_END)

    def _finish_with(self, last: Item | _EndOfStream) -> None:
        # Drop what is pending: the subscriber is going away or must resync from the
        # log, and this is what keeps the last item deliverable into a full queue.
        self._closed = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(last)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Item:
        if self._finished:
            raise StopAsyncIteration
        item = await self._queue.get()
        if isinstance(item, _EndOfStream):
            self._finished = True
            raise StopAsyncIteration
        if item is BusSignal.OVERFLOWED:
            self._finished = True
        return item
