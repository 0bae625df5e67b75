"""Which channels this process listens to, and who receives each one.

One backend subscription per channel per process, however many local subscribers:
each channel has a reference count and its own `asyncio.Lock`, so the first subscriber
SUBSCRIBEs, the last one leaving UNSUBSCRIBEs, and concurrent first subscribers wait
for one SUBSCRIBE instead of racing to send fifty (stock broadcaster checks
"no subscribers yet?" before an await and acts after it, so they all do, and each
replaces the others' queue set).
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from broadcaster import BroadcastBackend

from subscriptions.bus_subscription import Subscription

log = logging.getLogger(__name__)


@dataclass(eq=False)
class _Channel:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Live subscribe() contexts on this channel; the backend is subscribed iff > 0.
    refcount: int = 0
    # refcount plus callers still queued on the lock. The entry is dropped only at 0,
    # so nobody can hold a stale entry while a new one is created for the same name.
    users: int = 0
    # Subscriptions fed by this channel. An overflowed subscription leaves this set at
    # once but keeps its reference until its context exits.
    receivers: set[Subscription] = field(default_factory=set)


class ChannelRegistry:
    def __init__(self, backend: BroadcastBackend) -> None:
        self._backend = backend
        self._channels: dict[str, _Channel] = {}

    async def acquire(self, channel: str, subscription: Subscription) -> None:
        """Add `subscription` to `channel`, subscribing the backend if it is the first.

        Returns once the backend has confirmed the subscription, so a message published
        after this returns reaches the subscriber. Raises the backend's error if it
        cannot subscribe; nothing is left acquired then.
        """
        state = self._channels.setdefault(channel, _Channel())
        state.users += 1
        try:
            async with state.lock:
                if state.refcount == 0:
                    await self._backend.subscribe(channel)
                state.refcount += 1
                state.receivers.add(subscription)
        except BaseException:
            self._drop_user(channel, state)
            raise

    async def release(self, channel: str, subscription: Subscription) -> None:
        """Undo one acquire(); the last subscriber leaving unsubscribes the backend."""
        state = self._channels[channel]
        state.receivers.discard(subscription)
        try:
            async with state.lock:
                state.refcount -= 1
                if state.refcount == 0:
                    try:
                        await self._backend.unsubscribe(channel)
                    except Exception:
                        log.info("could not unsubscribe %s from the bus backend", channel, exc_info=True)
        finally:
            self._drop_user(channel, state)

    async def resubscribe_all(self) -> None:
        """After a reconnect: subscribe again every channel that still has subscribers.

        Channels are resubscribed concurrently (the commands pipeline over the one
        connection), each under its own lock so it cannot interleave with an acquire or
        release of the same channel.
        """
        await asyncio.gather(*(self._resubscribe(name, state) for name, state in list(self._channels.items())))

    async def _resubscribe(self, channel: str, state: _Channel) -> None:
        async with state.lock:
            if state.refcount > 0:
                await self._backend.subscribe(channel)

    def receivers(self, channel: str) -> list[Subscription]:
        state = self._channels.get(channel)
        return list(state.receivers) if state else []

    def all_receivers(self) -> set[Subscription]:
        return {sub for state in self._channels.values() for sub in state.receivers}

    def detach(self, subscription: Subscription) -> None:
        """Stop feeding `subscription` (it overflowed); its context still releases it."""
        for channel in subscription.channels:
            state = self._channels.get(channel)
            if state:
                state.receivers.discard(subscription)

    def refcount(self, channel: str) -> int:
        state = self._channels.get(channel)
        return state.refcount if state else 0

    def _drop_user(self, channel: str, state: _Channel) -> None:
        state.users -= 1
        if state.users == 0 and self._channels.get(channel) is state:
            del self._channels[channel]
