"""The transactional outbox: event rows written inside the change's transaction,
published on the bus only after it commits."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from models import Event
from subscriptions.events import BusEvent
from subscriptions.runtime import publish_events


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Outbox:
    """Collects the events of one account's write transaction; `publish()` after commit.

    Open it first thing in the transaction (`await Outbox.begin(connection, account_id)`):
    on PostgreSQL it takes a per-account transaction lock. Sequence values are handed out
    before commit, so without it two transactions could commit seq 11 before seq 10 and a
    feed reading the log would skip 10; with it, an account's events commit in seq order.
    Taking it before touching any row gives every writer the same lock order (no
    deadlocks). SQLite already serialises writers."""

    def __init__(self, connection: BaseDBAsyncClient, account_id: int):
        self.connection = connection
        self.account_id = account_id
        self._events: list[BusEvent] = []

    @classmethod
    async def begin(cls, connection: BaseDBAsyncClient, account_id: int) -> Outbox:
        if connection.capabilities.dialect == "postgres":
            await connection.execute_query("SELECT pg_advisory_xact_lock($1)", [account_id])
        return cls(connection, account_id)

    async def record(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        conversation_id: int | None = None,
        user_id: int | None = None,
    ) -> BusEvent:
        row = await Event.create(
            account_id=self.account_id, kind=kind, conversation_id=conversation_id, user_id=user_id,
            payload=payload, created_at=utcnow(), using_db=self.connection,
        )
        event = BusEvent(
            seq=row.seq, kind=kind, account_id=self.account_id,
            conversation_id=conversation_id, user_id=user_id, payload=payload,
        )
        self._events.append(event)
        return event

    async def publish(self) -> None:
        events, self._events = self._events, []
        await publish_events(events)
