"""Inbox views: the filter, the keyset-paged connection, and the counts."""
from __future__ import annotations

from datetime import datetime

import strawberry

import models
from resolvers import inbox as inbox_resolvers
from resolvers.inbox import InboxCursor
from resolvers.viewer import Viewer as ViewerModel
from schema.conversations import Conversation
from schema.enums import AssigneeScope, ConversationStatus
from schema.identities import inbox_counts_id
from schema.loaders import Loaders
from schema.members import User
from schema.pagination import PageInfo, decode_cursor, encode_cursor, keyset_page


@strawberry.input(description="Which conversations an inbox view shows.")
class InboxFilter:
    status: ConversationStatus = strawberry.field(default=ConversationStatus.OPEN, description="Tab; OPEN by default.")
    scope: AssigneeScope = strawberry.field(default=AssigneeScope.ALL, description="Whose conversations.")
    assignee_id: strawberry.ID | None = strawberry.field(default=None, description="The member, with scope USER.")
    search: str | None = strawberry.field(default=None, description="Part of the contact's name or phone number.")

    def to_domain(self) -> inbox_resolvers.InboxFilter:
        return inbox_resolvers.InboxFilter(
            status=self.status, scope=self.scope, assignee_id=self.assignee_id, search=self.search
        )


def domain_filter(inbox_filter: InboxFilter | None) -> inbox_resolvers.InboxFilter:
    return inbox_filter.to_domain() if inbox_filter else inbox_resolvers.InboxFilter()


@strawberry.type(description="A conversation in an inbox view, and its cursor.")
class InboxEdge:
    cursor: str = strawberry.field(description="Pass as `after` to continue after this row.")
    node: Conversation = strawberry.field(description="The conversation.")


@strawberry.type(description="A page of an inbox view, newest activity first.")
class InboxConnection:
    edges: list[InboxEdge] = strawberry.field(description="The rows of this page.")
    page_info: PageInfo = strawberry.field(description="Whether more rows follow.")
    filter: strawberry.Private[inbox_resolvers.InboxFilter]
    viewer: strawberry.Private[ViewerModel]

    @strawberry.field(description="How many conversations the whole view holds (one COUNT query).")
    async def total_count(self) -> int:
        return await inbox_resolvers.inbox_total(self.viewer, self.filter)


def inbox_cursor(conversation: models.Conversation) -> str:
    return encode_cursor(conversation.last_activity_at, conversation.id)


def parse_inbox_cursor(after: str | None) -> InboxCursor | None:
    return InboxCursor(*decode_cursor(after, (datetime, int))) if after else None


def inbox_connection(
    rows: list[models.Conversation],
    size: int,
    after: str | None,
    loaders: Loaders,
    viewer: ViewerModel,
    inbox_filter: inbox_resolvers.InboxFilter,
) -> InboxConnection:
    page = keyset_page(rows, size, after, inbox_cursor)
    return InboxConnection(
        edges=[InboxEdge(cursor=cursor, node=Conversation.from_model(row, loaders)) for cursor, row in page.rows],
        page_info=page.page_info,
        filter=inbox_filter,
        viewer=viewer,
    )


@strawberry.type(description="How many conversations one member holds.")
class AssigneeCount:
    user: User = strawberry.field(description="The member.")
    count: int = strawberry.field(description="Conversations assigned to them under the status filter.")


@strawberry.type(description="The numbers beside each inbox tab, all under the same status, so they agree.")
class InboxCounts:
    id: strawberry.ID = strawberry.field(
        description="Opaque id, the same for one viewer and status in `inboxCounts` and in `InboxCountsChanged`."
    )
    status: ConversationStatus = strawberry.field(description="The status these counts are for.")
    all: int = strawberry.field(description="Every conversation: unassigned + the sum over members.")
    unassigned: int = strawberry.field(description="Conversations nobody owns.")
    mine: int = strawberry.field(description="The viewer's conversations.")
    by_assignee: list[AssigneeCount] = strawberry.field(description="One entry per active member, zeros included.")


def counts_type(counts: inbox_resolvers.InboxCounts, viewer: ViewerModel) -> InboxCounts:
    """The tabs as `viewer` sees them (`counts_for(viewer, …)`), under their id."""
    return InboxCounts(
        id=strawberry.ID(inbox_counts_id(viewer.user_id, counts.status)),
        status=counts.status, all=counts.all, unassigned=counts.unassigned, mine=counts.mine,
        by_assignee=[AssigneeCount(user=User.from_model(user), count=count) for user, count in counts.by_assignee],
    )
