"""A conversation's thread: messages, assignment and status changes in time order."""
from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import Q

from models import AssignmentEvent, Conversation, Message, StatusEvent

TimelineItem = Message | AssignmentEvent | StatusEvent
# Ties on the timestamp are broken by kind, then id, so the order is total and stable.
_KINDS: tuple[type[TimelineItem], ...] = (Message, AssignmentEvent, StatusEvent)


@dataclass(frozen=True)
class TimelineCursor:
    created_at: datetime
    kind: int
    id: int


def cursor_of(item: TimelineItem) -> TimelineCursor:
    return TimelineCursor(item.created_at, _KINDS.index(type(item)), item.id)


def _after(kind: int, cursor: TimelineCursor) -> Q:
    at = cursor.created_at
    if kind > cursor.kind:
        return Q(created_at__gte=at)
    if kind < cursor.kind:
        return Q(created_at__gt=at)
    return Q(created_at__gt=at) | Q(created_at=at, id__gt=cursor.id)


async def timeline(conversation: Conversation, *, first: int, after: TimelineCursor | None) -> list[TimelineItem]:
    """Oldest first; up to first + 1 items (the extra one means a next page). One query
    per kind, merged in memory: each returns at most first + 1 rows."""
    sources: list[list[TimelineItem]] = []
    for kind, model in enumerate(_KINDS):
        query = model.filter(conversation_id=conversation.id)
        if after is not None:
            query = query.filter(_after(kind, after))
        sources.append(list(await query.order_by("created_at", "id").limit(first + 1)))
    merged = heapq.merge(*sources, key=_order)
    return list(itertools.islice(merged, first + 1))


def _order(item: TimelineItem) -> tuple[datetime, int, int]:
    return item.created_at, _KINDS.index(type(item)), item.id


async def assignment_history(conversation: Conversation) -> list[AssignmentEvent]:
    return await AssignmentEvent.filter(conversation_id=conversation.id).order_by("created_at", "id")
