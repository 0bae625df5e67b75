"""What subscribers of one event share: its loaders and its counts.

Every subscriber in this process receives the same event object from its account's
feed; the first one to render it loads the rows (and counts) and the rest reuse them,
so an event costs a fixed number of queries however many watch it."""
from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field

from models import ConversationStatus
from resolvers.inbox import AccountCounts, account_counts
from schema.loaders import Loaders, SharedDataLoader
from subscriptions.events import BusEvent

_MAX_EVENTS = 512


@dataclass
class SharedEvent:
    event: BusEvent  # held so its id() is not reused while cached
    loaders: Loaders = field(default_factory=lambda: Loaders(SharedDataLoader))
    counts: dict[ConversationStatus, asyncio.Future[AccountCounts]] = field(default_factory=dict)

    async def account_counts(self, status: ConversationStatus) -> AccountCounts:
        future = self.counts.get(status)
        if future is None:
            future = asyncio.ensure_future(account_counts(self.event.account_id, status))
            self.counts[status] = future
        return await asyncio.shield(future)


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
