"""When each reply became SENT, read from the database once the run is over.

SENT is the worker's record of the provider's acceptance: `record_send` writes the
message's new status and, last thing before COMMIT (after every lock the transaction
waited for), the MessageDeliveryChanged row of the event log with its `created_at`
(resolvers/outbox.py). That timestamp is taken as the moment SENT is recorded: read after
the run, it adds no load to the server while it is measured (polling Message.delivery
would, and would round every figure to its interval; a conversationEvents subscriber
would add the subscription's own execution and the bus to the server's work and to the
figure). It is wall-clock time (the server's clock, the same kernel's as ours), compared
with the wall-clock moment each sendMessage answer was read.

Also read: each outbound message's delivery status, and the provider id the worker stored
(the emulator's uuid), to check that every reply is SENT exactly as the emulator saw it."""
from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from bench.common.postgres import connected

DELIVERY_CHANGED = "message.delivery_changed"  # subscriptions/events.py MESSAGE_DELIVERY_CHANGED

EVENTS = "SELECT payload, created_at FROM event WHERE kind = '" + DELIVERY_CHANGED + "'"
MESSAGES = ("SELECT id, delivery_status, provider_message_id FROM message WHERE direction = 'OUTBOUND'"
            " AND delivery_status IS NOT NULL")


@dataclass(frozen=True)
class Record:
    status: str
    provider_id: str | None
    sent_wall_ns: int | None  # when SENT was recorded (None: no SENT event)


def _wall_ns(value: datetime | str) -> int:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def _records(events: list[tuple], messages: list[tuple]) -> dict[int, Record]:
    sent: dict[int, int] = {}
    for payload, created_at in events:
        data = orjson.loads(payload) if isinstance(payload, str | bytes) else payload
        if data.get("delivery_status") == "SENT":
            sent.setdefault(int(data["message_id"]), _wall_ns(created_at))
    return {int(mid): Record(status, provider_id, sent.get(int(mid))) for mid, status, provider_id in messages}


def _sqlite(path: str) -> dict[int, Record]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        return _records(connection.execute(EVENTS).fetchall(), connection.execute(MESSAGES).fetchall())


async def settled_records(database_url: str, ids: set[int], timeout: float) -> dict[int, Record]:
    """The records once every reply of `ids` is SENT (or `timeout` has passed): a reply
    reaches the emulator a moment before the worker commits SENT."""
    deadline = time.monotonic() + timeout
    while True:
        records = await delivery_records(database_url)
        if time.monotonic() > deadline or all(getattr(records.get(i), "status", None) == "SENT" for i in ids):
            return records
        await asyncio.sleep(0.1)


async def delivery_records(database_url: str) -> dict[int, Record]:
    """Every outbound message of the database, by id."""
    if database_url.startswith("sqlite://"):
        return await asyncio.to_thread(_sqlite, database_url.removeprefix("sqlite://"))
    async with connected(database_url) as connection:
        events = [tuple(row) for row in await connection.fetch(EVENTS)]
        messages = [tuple(row) for row in await connection.fetch(MESSAGES)]
    return _records(events, messages)
