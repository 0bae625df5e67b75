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
    """Collects the events of one transaction; `publish()` after the block commits."""

    def __init__(self, connection: BaseDBAsyncClient):
        self.connection = connection
        self._events: list[BusEvent] = []
        self._locked_accounts: set[int] = set()

    async def record(
        self,
        account_id: int,
        kind: str,
        payload: dict[str, Any],
        *,
        conversation_id: int | None = None,
        user_id: int | None = None,
    ) -> BusEvent:
        await self._serialise_account(account_id)
        row = await Event.create(
            account_id=account_id,
            kind=kind,
            conversation_id=conversation_id,
            user_id=user_id,
            payload=payload,
            created_at=utcnow(),
            using_db=self.connection,
        )
        event = BusEvent(
            seq=row.seq, kind=kind, account_id=account_id,
            conversation_id=conversation_id, user_id=user_id, payload=payload,
        )
        self._events.append(event)
        return event

    async def _serialise_account(self, account_id: int) -> None:
        """On PostgreSQL, sequence values are handed out before commit, so two concurrent
        transactions could commit seq 11 before seq 10 and a resuming client would skip
        10. A per-account transaction lock makes commit order equal seq order. SQLite
        already serialises writers."""
        if account_id in self._locked_accounts:
            return
        self._locked_accounts.add(account_id)
        if self.connection.capabilities.dialect == "postgres":
            await self.connection.execute_query("SELECT pg_advisory_xact_lock($1)", [account_id])

    async def publish(self) -> None:
        events, self._events = self._events, []
        await publish_events(events)
