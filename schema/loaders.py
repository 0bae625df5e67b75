"""DataLoaders: each batches the rows a page or event needs into one query per kind.

A set of loaders is also a cache, so it lives exactly as long as one answer: one HTTP
request, or one event fanned out to every subscriber who receives it (see
subscriptions), never a whole WebSocket connection."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence

from strawberry.dataloader import DataLoader
from tortoise.functions import Max

import models


async def _by_id(model: type[models.Model], ids: Sequence[int]) -> list:
    rows = {row.id: row for row in await model.filter(id__in=list(ids))}
    return [rows.get(i) for i in ids]


async def _last_messages(conversation_ids: Sequence[int]) -> list[models.Message | None]:
    """Each conversation's newest message by time (ties: the later id). Not the highest
    id: a message the provider delivers late keeps its older time and is no preview."""
    ids = list(conversation_ids)
    latest = (
        await models.Message.filter(conversation_id__in=ids)
        .annotate(last_at=Max("created_at"))
        .group_by("conversation_id")
        .values("conversation_id", "last_at")
    )
    # The IN list can also match a message of one conversation at another's newest instant: keep each one's newest.
    candidates = await models.Message.filter(conversation_id__in=ids, created_at__in=[row["last_at"] for row in latest])
    newest: dict[int, models.Message] = {}
    for message in candidates:
        kept = newest.get(message.conversation_id)
        if kept is None or (message.created_at, message.id) > (kept.created_at, kept.id):
            newest[message.conversation_id] = message
    return [newest.get(cid) for cid in ids]


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
        self.last_message = loader(_last_messages)

    async def user_or_none(self, user_id: int | None) -> models.User | None:
        return None if user_id is None else await self.user.load(user_id)
