"""The transactional outbox: event rows written inside the change's transaction,
published on the bus only after it commits."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from models import Event
from resolvers.sql import values_rows
from subscriptions.events import BusEvent
from subscriptions.runtime import publish_events

_PAYLOAD = Event._meta.fields_map["payload"]
_CREATED_AT = Event._meta.fields_map["created_at"]


def utcnow() -> datetime:
    return datetime.now(UTC)


@asynccontextmanager
async def write_transaction(account_id: int) -> AsyncIterator[Outbox]:
    """One write transaction of an account: yields its Outbox, and writes the recorded
    events (under the account's lock) just before commit. Publish with
    `outbox.publish()` after the block, once committed."""
    async with in_transaction() as connection:
        outbox = Outbox(connection, account_id)
        yield outbox
        await outbox.flush()


class Outbox:
    """Collects the events of one account's write transaction; `flush()` writes them
    last thing before commit, `publish()` rings the bus after it.

    On PostgreSQL the flush first takes a per-account transaction lock. Sequence values
    are handed out before commit, so without it two transactions could commit seq 11
    before seq 10 and a feed reading the log would skip 10; with it, an account's events
    commit in seq order. It is taken *last*, after every row the transaction changes:
    held for two statements, not the whole transaction, so an account's writers overlap
    instead of queueing one behind another. No deadlock can involve it: its holder only
    inserts event rows (whose one foreign key, the account, only waits on a FOR UPDATE
    of the account row, which nothing takes) and commits. Deadlocks between the row locks
    before it are avoided by one order: a member's row first (an assignment's assignee,
    a deactivated member), then conversation rows (read `FOR NO KEY UPDATE`, so that
    inserts referencing them elsewhere are not blocked; several in key order), then inbox
    counters in key order (resolvers/counts.py). SQLite serialises writers anyway."""

    def __init__(self, connection: BaseDBAsyncClient, account_id: int):
        self.connection = connection
        self.account_id = account_id
        self._pending: list[BusEvent] = []
        self._events: list[BusEvent] = []

    def record(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        conversation_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        """Queue an event; `flush()` writes the transaction's events in one statement."""
        self._pending.append(BusEvent(
            seq=None, kind=kind, account_id=self.account_id,
            conversation_id=conversation_id, user_id=user_id, payload=payload,
        ))

    async def flush(self) -> None:
        """Insert the queued events (one multi-row INSERT: a round trip per transaction,
        not per event). Each row's seq is drawn in VALUES order, so the i-th smallest
        returned seq is the i-th event's, whatever order RETURNING lists them in."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        if self.connection.capabilities.dialect == "postgres":
            await self.connection.execute_query("SELECT pg_advisory_xact_lock($1)", [self.account_id])
        created_at = _CREATED_AT.to_db_value(utcnow(), Event)
        values, params = values_rows(self.connection, [
            (self.account_id, event.kind, event.conversation_id, event.user_id,
             _PAYLOAD.to_db_value(event.payload, Event), created_at)
            for event in pending
        ])
        inserted = await self.connection.execute_query_dict(
            "INSERT INTO event (account_id, kind, conversation_id, user_id, payload, created_at) VALUES "
            + values + " RETURNING seq",
            params,
        )
        seqs = sorted(row["seq"] for row in inserted)
        self._events += [replace(event, seq=seq) for event, seq in zip(pending, seqs, strict=True)]

    async def publish(self) -> None:
        events, self._events = self._events, []
        await publish_events(events)
