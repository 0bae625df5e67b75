"""The inbox: conversations by status and assignee scope, and the counts beside each tab."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from tortoise import connections
from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from models import Conversation, ConversationStatus, User
from resolvers.counts import counts_by_assignee
from resolvers.errors import storable_text, validation
from resolvers.members import get_member
from resolvers.viewer import Viewer

MAX_SEARCH_LENGTH = 100


class AssigneeScope(str, Enum):
    ALL = "ALL"
    MINE = "MINE"
    UNASSIGNED = "UNASSIGNED"
    USER = "USER"


@dataclass(frozen=True)
class InboxFilter:
    status: ConversationStatus = ConversationStatus.OPEN
    scope: AssigneeScope = AssigneeScope.ALL
    assignee_id: str | None = None
    search: str | None = None


@dataclass(frozen=True)
class InboxCursor:
    """Keyset position: the last row seen, in (last_activity_at, id) descending order."""
    last_activity_at: datetime
    id: int


@dataclass(frozen=True)
class InboxCounts:
    status: ConversationStatus
    all: int
    unassigned: int
    mine: int
    by_assignee: list[tuple[User, int]]


# The scope "ALL": no assignee condition.
ANY_ASSIGNEE = object()


async def scope_assignee(viewer: Viewer, inbox_filter: InboxFilter) -> int | None | object:
    """The assignee the scope selects: a member id, None for unassigned, ANY_ASSIGNEE for all."""
    scope = inbox_filter.scope
    if scope != AssigneeScope.ALL:
        viewer.require_capability()
    if scope == AssigneeScope.USER:
        if inbox_filter.assignee_id is None:
            raise validation("scope USER needs an assigneeId", "assigneeId")
        return (await get_member(viewer, inbox_filter.assignee_id, "assigneeId")).id
    if inbox_filter.assignee_id is not None:
        raise validation("assigneeId is only used with scope USER", "assigneeId")
    if scope == AssigneeScope.MINE:
        return viewer.user_id
    if scope == AssigneeScope.UNASSIGNED:
        return None
    return ANY_ASSIGNEE


def search_text(inbox_filter: InboxFilter) -> str:
    """The filter's search term as the inbox matches it (trimmed; empty: no search)."""
    search = storable_text(inbox_filter.search or "", "search").strip()
    if len(search) > MAX_SEARCH_LENGTH:
        raise validation(f"Search must be at most {MAX_SEARCH_LENGTH} characters", "search")
    return search


async def inbox_query(viewer: Viewer, inbox_filter: InboxFilter) -> QuerySet[Conversation]:
    query = Conversation.filter(account_id=viewer.account_id, status=inbox_filter.status)
    assignee = await scope_assignee(viewer, inbox_filter)
    if assignee is not ANY_ASSIGNEE:
        query = query.filter(assignee_id=assignee)
    search = search_text(inbox_filter)
    if search:
        query = query.filter(Q(contact__name__icontains=search) | Q(contact__phone__icontains=search))
    return query


async def inbox_page(
    viewer: Viewer, inbox_filter: InboxFilter, *, first: int, after: InboxCursor | None
) -> list[Conversation]:
    """Newest activity first; up to first + 1 rows (the extra one means a next page).
    Keyset, not offset: a conversation moving while a client pages neither repeats nor
    makes another one skip."""
    query = await inbox_query(viewer, inbox_filter)
    if after is not None:
        query = query.filter(
            Q(last_activity_at__lt=after.last_activity_at)
            | Q(last_activity_at=after.last_activity_at, id__lt=after.id)
        )
    return await query.order_by("-last_activity_at", "-id").limit(first + 1)


async def inbox_total(viewer: Viewer, inbox_filter: InboxFilter) -> int:
    return await (await inbox_query(viewer, inbox_filter)).count()


@dataclass(frozen=True)
class AccountCounts:
    """Conversations per assignee (None: unassigned) under one status, and the members to
    list: the same for every viewer, so a live update computes it once per event."""
    status: ConversationStatus
    per_assignee: dict[int | None, int]
    members: list[User]


async def account_counts(account_id: int, status: ConversationStatus) -> AccountCounts:
    """One read of the counters for the numbers, one for the members. Every active member is
    listed (zeros included); a deactivated member only while still holding conversations."""
    per_assignee = await counts_by_assignee(connections.get("default"), account_id, status)
    members = await User.filter(
        Q(active=True) | Q(id__in=[key for key in per_assignee if key is not None]), account_id=account_id
    ).order_by("name", "id")
    return AccountCounts(status=status, per_assignee=per_assignee, members=members)


def counts_for(viewer: Viewer, counts: AccountCounts) -> InboxCounts:
    """The tabs as one viewer sees them. They always agree: all = unassigned + the sum
    over members."""
    per_assignee = counts.per_assignee
    return InboxCounts(
        status=counts.status,
        all=sum(per_assignee.values()),
        unassigned=per_assignee.get(None, 0),
        mine=per_assignee.get(viewer.user_id, 0),
        by_assignee=[(member, per_assignee.get(member.id, 0)) for member in counts.members],
    )


async def inbox_counts(viewer: Viewer, status: ConversationStatus) -> InboxCounts:
    viewer.require_capability()
    return counts_for(viewer, await account_counts(viewer.account_id, status))
