"""DataLoaders: each batches the rows a page or event needs into one query per kind.

A set of loaders is also a cache, so it lives exactly as long as one answer: one HTTP
request, or one event fanned out to every subscriber who receives it (see
subscriptions), never a whole WebSocket connection."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader
from tortoise.models import Model

import models

M = TypeVar("M", bound=Model)


def _by_id(model: type[M]) -> Callable[[Sequence[int]], Awaitable[list[M | None]]]:
    async def load(ids: Sequence[int]) -> list[M | None]:
        rows = {row.pk: row for row in await model.filter(id__in=list(ids))}
        return [rows.get(i) for i in ids]

    return load


async def _delivery_attempts(message_ids: Sequence[int]) -> list[int]:
    rows = dict(await models.DeliveryJob.filter(message_id__in=list(message_ids)).values_list("message_id", "attempts"))
    return [rows.get(i, 0) for i in message_ids]


class SharedDataLoader(DataLoader[int, Any]):
    """For loaders that several tasks await at once (one event's subscribers): a cached
    load is one future, and a task cancelled while awaiting it (its client went away)
    would cancel it for every other subscriber too; each awaits it through a shield."""

    def load(self, key: int) -> Awaitable[Any]:
        return asyncio.shield(super().load(key))


class Loaders:
    """The loaders of one answer. `loader` is DataLoader, or SharedDataLoader for an
    event's subscribers."""

    def __init__(self, loader: type[DataLoader[int, Any]] = DataLoader) -> None:
        self.user: DataLoader[int, models.User | None] = loader(_by_id(models.User))
        self.contact: DataLoader[int, models.Contact | None] = loader(_by_id(models.Contact))
        self.conversation: DataLoader[int, models.Conversation | None] = loader(_by_id(models.Conversation))
        self.message: DataLoader[int, models.Message | None] = loader(_by_id(models.Message))
        self.notification: DataLoader[int, models.Notification | None] = loader(_by_id(models.Notification))
        self.delivery_attempts: DataLoader[int, int] = loader(_delivery_attempts)

    async def user_or_none(self, user_id: int | None) -> models.User | None:
        return None if user_id is None else await self.user.load(user_id)


class RowGone(LookupError):
    """A row whose id the caller holds from another row is not there. Conversations,
    contacts, messages and members are never deleted but with their account, so this is
    a bug or an account being deleted; it surfaces as an (masked) internal error."""


async def existing(loader: DataLoader[int, M | None], key: int) -> M:
    """The row `key` refers to, which must exist."""
    row = await loader.load(key)
    if row is None:
        raise RowGone(key)
    return row
