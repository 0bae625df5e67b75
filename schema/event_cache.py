"""What subscribers of one event share: its loaders, its counts and its GraphQL objects.

Every subscriber in this process receives the same event object from its account's
feed; the first one to render it loads the rows (and counts) and the rest reuse them,
so an event costs a fixed number of queries however many watch it. The objects built
from it are shared too: the same root object is what lets schema/multiplex.py execute
each distinct selection once per event."""
from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from models import ConversationStatus
from resolvers.inbox import AccountCounts, account_counts
from schema.loaders import Loaders, SharedDataLoader
from subscriptions.events import BusEvent

_MAX_EVENTS = 512

T = TypeVar("T")


@dataclass
class SharedEvent:
    event: BusEvent  # held so its id() is not reused while cached
    loaders: Loaders = field(default_factory=lambda: Loaders(SharedDataLoader))
    _once: dict[Hashable, asyncio.Future[Any]] = field(default_factory=dict)
    _by_value: dict[Hashable, list[tuple[Any, Any]]] = field(default_factory=dict)

    async def once(self, key: Hashable, make: Callable[[], Awaitable[T]]) -> T:
        """`make()` awaited once for all subscribers. It runs as its own task, awaited
        through a shield: a subscriber cancelled while waiting (its client went away)
        must not cancel it for the others."""
        # Futures of any type share one dict; a key is always made by the same `make`.
        future: asyncio.Future[T] | None = self._once.get(key)
        if future is None:
            future = asyncio.ensure_future(make())
            self._once[key] = future
        elif future.done():
            return future.result()  # the common case: no shield to allocate per subscriber
        return await asyncio.shield(future)

    def for_value(self, key: Hashable, value: Any, build: Callable[[], T]) -> T:
        """One object per distinct `value` (compared with ==) under `key`: subscribers
        whose view of the event is equal (the same counts) share the object built for it.
        The list stays short: one entry per distinct view of one event."""
        entries = self._by_value.setdefault(key, [])
        for seen, shared in entries:
            if seen == value:
                return cast(T, shared)  # built by this same `build` for an equal value
        built = build()
        entries.append((value, built))
        return built

    async def account_counts(self, status: ConversationStatus) -> AccountCounts:
        return await self.once(("counts", status), lambda: account_counts(self.event.account_id, status))


_recent: OrderedDict[int, SharedEvent] = OrderedDict()


def shared(event: BusEvent) -> SharedEvent:
    key = id(event)
    entry = _recent.get(key)
    if entry is None or entry.event is not event:
        entry = SharedEvent(event)
        _recent[key] = entry
        while len(_recent) > _MAX_EVENTS:
            _recent.popitem(last=False)
    return entry
