"""DataLoaders: each batches the rows a page or event needs into one query per kind.

A set of loaders is also a cache, so it lives exactly as long as one answer: one HTTP
request, or one event fanned out to every subscriber who receives it (see
subscriptions), never a whole WebSocket connection."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence

from strawberry.dataloader import DataLoader

import models


async def _by_id(model: type[models.Model], ids: Sequence[int]) -> list:
    rows = {row.id: row for row in await model.filter(id__in=list(ids))}
    return [rows.get(i) for i in ids]


class SharedDataLoader(DataLoader):
    """For loaders that several tasks await at once (one event's subscribers): a cached
    load is one future, and a task cancelled while awaiting it (its client went away)
    would cancel it for every other subscriber too; each awaits it through a shield."""

    def load(self, key) -> Awaitable:
        return asyncio.shield(super().load(key))


class Loaders:
    def __init__(self, loader: type[DataLoader] = DataLoader) -> None:
        self.user = loader(lambda ids: _by_id(models.User, ids))
        self.contact = loader(lambda ids: _by_id(models.Contact, ids))
        self.conversation = loader(lambda ids: _by_id(models.Conversation, ids))
        self.message = loader(lambda ids: _by_id(models.Message, ids))
        self.notification = loader(lambda ids: _by_id(models.Notification, ids))

    async def user_or_none(self, user_id: int | None) -> models.User | None:
        return None if user_id is None else await self.user.load(user_id)
