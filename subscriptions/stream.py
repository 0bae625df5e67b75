"""One subscriber's stream: replay from a cursor, then live, with no gap and no duplicate.

The subscriber registers on its account's feed first; the feed reports the seq it has
delivered up to at that instant. Events after the cursor up to that seq come from the
log, everything later from the feed's queue, so each event arrives exactly once."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from subscriptions.events import STORED_KINDS, BusEvent
from subscriptions.feed import Ended, FeedRegistry, Overflowed
from subscriptions.log import cursor_expired, events_after


@dataclass(frozen=True)
class ResyncNeeded:
    reason: str


@dataclass(frozen=True)
class ReplayFinished:
    """Marks where replayed events end and live ones begin. Always the first item
    without a cursor: from here on the subscriber is registered on the feed."""


@dataclass(frozen=True)
class DeadlinePassed:
    """The stream's `ends_at` came: the last item."""


REPLAY_FINISHED = ReplayFinished()
DEADLINE_PASSED = DeadlinePassed()
CURSOR_EXPIRED = ResyncNeeded("The cursor is older than the event log keeps: refetch, then subscribe again.")
TOO_SLOW = ResyncNeeded("Events arrived faster than this client read them: refetch, then subscribe again.")


async def event_stream(
    feeds: FeedRegistry,
    account_id: int,
    accepts: Callable[[BusEvent], bool],
    *,
    after_seq: int | None,
    conversation_id: int | None = None,
    user_id: int | None = None,
    ends_at: datetime | None = None,
) -> AsyncGenerator[BusEvent | ResyncNeeded | ReplayFinished | DeadlinePassed, None]:
    """`conversation_id` / `user_id` narrow the replay query (`conversation_id` the live
    delivery too); `accepts` decides for every event, replayed or live. At `ends_at` the
    stream delivers what was already queued, then DEADLINE_PASSED, and ends."""
    async with feeds.subscribe(account_id, accepts, conversation_id) as (subscriber, delivered_upto):
        # One timer per subscriber, not one per item: a busy feed's deliveries cost nothing more.
        deadline = None if ends_at is None else asyncio.get_running_loop().call_later(
            max(0.0, (ends_at - datetime.now(UTC)).total_seconds()), subscriber.end
        )
        try:
            if after_seq is not None:
                if await cursor_expired(after_seq):
                    yield CURSOR_EXPIRED
                else:
                    async for event in events_after(
                        account_id, after_seq, kinds=STORED_KINDS, conversation_id=conversation_id, user_id=user_id
                    ):
                        assert event.seq is not None  # read from the log: every stored event has its seq
                        if event.seq > delivered_upto:
                            break
                        if accepts(event):
                            yield event
            yield REPLAY_FINISHED
            while True:
                item = await subscriber.queue.get()
                if isinstance(item, Overflowed):  # OVERFLOWED, the only instance
                    yield TOO_SLOW
                    return
                if isinstance(item, Ended):
                    yield DEADLINE_PASSED
                    return
                yield item
        finally:
            if deadline is not None:
                deadline.cancel()
