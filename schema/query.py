"""The root Query: each field a thin call into resolvers/."""
from __future__ import annotations

import strawberry

import models
from resolvers import audit, members, notifications
from resolvers import inbox as inbox_resolvers
from resolvers.conversations import get_conversation
from resolvers.errors import DomainError, ErrorCode
from resolvers.viewer import require_viewer
from schema.audit import AuditEntryConnection, audit_connection, parse_audit_cursor
from schema.context import Info
from schema.conversations import Conversation
from schema.enums import ConversationStatus
from schema.errors import run_query
from schema.events import event_cursor
from schema.inbox import (
    InboxConnection,
    InboxCounts,
    InboxFilter,
    counts_type,
    domain_filter,
    inbox_connection,
    parse_inbox_cursor,
)
from schema.members import User, Viewer
from schema.notifications import Notification, NotificationConnection, NotificationEdge
from schema.pagination import decode_cursor, encode_cursor, keyset_page
from subscriptions.log import resume_seq


@strawberry.type(description="Everything a member can read.")
class Query:
    @strawberry.field(description="The logged-in member and their account (null without a valid token).")
    def viewer(self, info: Info) -> Viewer | None:
        return Viewer.from_viewer(info.context.viewer) if info.context.viewer else None

    @strawberry.field(description="The account's members, by name; deactivated ones only if asked.")
    async def team_members(self, info: Info, include_inactive: bool = False) -> list[User]:
        viewer = info.context.viewer
        users = await run_query(lambda: members.team_members(require_viewer(viewer), include_inactive=include_inactive))
        return [User.from_model(user) for user in users]

    @strawberry.field(description="An inbox view: conversations by status and assignee scope, newest activity first.")
    async def inbox(
        self, info: Info, filter: InboxFilter | None = None, first: int | None = None, after: str | None = None
    ) -> InboxConnection:
        async def load() -> InboxConnection:
            viewer = require_viewer(info.context.viewer)
            size = info.context.limits.page_size(first)
            inbox_filter = domain_filter(filter)
            rows = await inbox_resolvers.inbox_page(viewer, inbox_filter, first=size, after=parse_inbox_cursor(after))
            return inbox_connection(rows, size, after, info.context.loaders, viewer, inbox_filter)

        return await run_query(load)

    @strawberry.field(description="The numbers beside the inbox tabs, for one status (OPEN by default).")
    async def inbox_counts(self, info: Info, status: ConversationStatus = ConversationStatus.OPEN) -> InboxCounts:
        async def load() -> InboxCounts:
            viewer = require_viewer(info.context.viewer)
            return counts_type(await inbox_resolvers.inbox_counts(viewer, status), viewer)

        return await run_query(load)

    @strawberry.field(
        description="The cursor of the newest event in the viewer's account now. Read it with (or before) the view "
        "it goes with and pass it as `after` to `inboxEvents`, `conversationEvents` or `notificationAdded`: the "
        "stream then begins with whatever happened after this read, so nothing in between is lost, and a client "
        "that reconnects before its first event still has a cursor to resume from."
    )
    async def event_cursor(self, info: Info) -> str:
        async def load() -> str:
            viewer = require_viewer(info.context.viewer)
            return event_cursor(await resume_seq(viewer.account_id))

        return await run_query(load)

    @strawberry.field(description="One conversation, or null if there is none with this id in the viewer's account.")
    async def conversation(self, info: Info, id: strawberry.ID) -> Conversation | None:
        async def load() -> models.Conversation | None:
            try:
                return await get_conversation(require_viewer(info.context.viewer), id, "id")
            except DomainError as error:
                if error.code == ErrorCode.NOT_FOUND:
                    return None
                raise

        conversation = await run_query(load)
        return Conversation.from_model(conversation, info.context.loaders) if conversation else None

    @strawberry.field(description="The viewer's notifications, newest first.")
    async def notifications(
        self, info: Info, unread_only: bool = False, first: int | None = None, after: str | None = None
    ) -> NotificationConnection:
        async def load() -> NotificationConnection:
            viewer = require_viewer(info.context.viewer)
            size = info.context.limits.page_size(first)
            before_id = decode_cursor(after, (int,))[0] if after else None
            rows = await notifications.list_notifications(
                viewer, unread_only=unread_only, first=size, before_id=before_id
            )
            page = keyset_page(rows, size, after, lambda row: encode_cursor(row.id))
            loaders = info.context.loaders
            return NotificationConnection(
                edges=[NotificationEdge(cursor=cursor, node=Notification.from_model(row, loaders))
                       for cursor, row in page.rows],
                page_info=page.page_info,
                total_count=await notifications.count_notifications(viewer, unread_only=unread_only),
                unread_count=await notifications.count_notifications(viewer, unread_only=True),
            )

        return await run_query(load)

    @strawberry.field(
        description="The account's audit log, newest first: who created members or changed their role or state, the "
        "plan or the webhook secret (never its value), and logins from new addresses. Admins only (FORBIDDEN)."
    )
    async def audit_log(self, info: Info, first: int | None = None, after: str | None = None) -> AuditEntryConnection:
        async def load() -> AuditEntryConnection:
            viewer = require_viewer(info.context.viewer)
            size = info.context.limits.page_size(first)
            rows = await audit.audit_log(viewer, first=size, before_id=parse_audit_cursor(after))
            return audit_connection(rows, size, after, info.context.loaders, viewer)

        return await run_query(load)
