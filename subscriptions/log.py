"""The durable event log, read for replay: what a resuming subscriber missed.

The log is pruned by age (a prefix of `seq`), so a cursor is expired exactly when
events after it were pruned: it is older than the oldest retained seq minus one."""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from tortoise.functions import Max, Min

from models import Event
from subscriptions.events import BusEvent

REPLAY_BATCH = 500

# One aggregate of seq by name, as `.first().values(name)` reads it: None over no rows.
_Aggregate = dict[str, int | None]


def _bus_event(row: Event) -> BusEvent:
    return BusEvent(
        seq=row.seq, kind=row.kind, account_id=row.account_id,
        conversation_id=row.conversation_id, user_id=row.user_id, payload=row.payload,
    )


async def latest_seq(account_id: int | None = None) -> int:
    """The newest seq in the log (0 when empty), of one account or of all. A live feed
    starts from its account's newest: within an account, events commit in seq order
    (see resolvers/outbox.py), across accounts they need not."""
    query = Event.all() if account_id is None else Event.filter(account_id=account_id)
    row: _Aggregate | None = await query.annotate(top=Max("seq")).first().values("top")
    return (row or {}).get("top") or 0


async def resume_seq(account_id: int) -> int:
    """Where a client of this account resumes from if it subscribes now: its newest seq,
    but never before the pruned prefix (an account whose events were all pruned would
    otherwise get 0, a cursor the log calls expired). Nothing of the account lies between
    the two: everything before the log's oldest seq was pruned."""
    newest = await latest_seq(account_id)
    oldest = await _oldest_seq()
    return newest if oldest is None else max(newest, oldest - 1)


async def cursor_expired(after_seq: int) -> bool:
    oldest = await _oldest_seq()
    return oldest is not None and after_seq < oldest - 1


async def _oldest_seq() -> int | None:
    row: _Aggregate | None = await Event.all().annotate(bottom=Min("seq")).first().values("bottom")
    return (row or {}).get("bottom")


async def events_after(
    account_id: int,
    after_seq: int,
    *,
    kinds: frozenset[str],
    conversation_id: int | None = None,
    user_id: int | None = None,
) -> AsyncIterator[BusEvent]:
    """Stored events of one account after a seq, oldest first, in bounded batches."""
    while True:
        query = Event.filter(account_id=account_id, seq__gt=after_seq, kind__in=list(kinds))
        if conversation_id is not None:
            query = query.filter(conversation_id=conversation_id)
        if user_id is not None:
            query = query.filter(user_id=user_id)
        rows = await query.order_by("seq").limit(REPLAY_BATCH)
        for row in rows:
            yield _bus_event(row)
        if len(rows) < REPLAY_BATCH:
            return
        after_seq = rows[-1].seq


async def prune(older_than: timedelta) -> int:
    """Delete events older than the retention, as a prefix of seq (so cursor_expired is
    exact), always keeping the newest event. Returns how many were deleted."""
    cutoff = datetime.now(UTC) - older_than
    row: _Aggregate | None = await Event.filter(created_at__lt=cutoff).annotate(top=Max("seq")).first().values("top")
    through = (row or {}).get("top")
    newest = await latest_seq()
    if not through:
        return 0
    return await Event.filter(seq__lte=min(through, newest - 1)).delete()
