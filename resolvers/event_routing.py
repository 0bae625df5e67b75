"""Who receives which live event: the rules behind the subscriptions.

Everything here decides from the event's own facts (ids, status), so routing an event
to many subscribers costs no database query. Decisions:
- Any member (admin, agent, analyst) may watch any scope of their own account, like the
  `inbox` query: the team inbox is shared; only changes are restricted by role.
- A typist never receives their own typing events, on any of their connections; typing
  reaches only members whose plan has the typing indicator (TEAM_INBOX).
- A member's access events (logout, deactivation, a role or plan change) reach every
  subscription of theirs, whatever it watches: schema/subscription.py ends or re-checks it.
- An inbox view receives a conversation's events when the conversation is in scope
  before or after the change, so a client can add or remove the row.
"""
from __future__ import annotations

from dataclasses import dataclass

from models import Capability, ConversationStatus
from resolvers.conversations import get_conversation
from resolvers.inbox import ANY_ASSIGNEE, InboxFilter, scope_assignee, search_text
from resolvers.viewer import Viewer
from subscriptions.events import (
    ACCESS_CHANGED,
    ACCESS_REVOKED,
    CONVERSATION_ASSIGNED,
    CONVERSATION_STATUS_CHANGED,
    MESSAGE_CREATED,
    MESSAGE_DELIVERY_CHANGED,
    NOTIFICATION_CREATED,
    TYPING_CHANGED,
    BusEvent,
)

_CONVERSATION_LIVE_KINDS = frozenset(
    {MESSAGE_CREATED, MESSAGE_DELIVERY_CHANGED, CONVERSATION_ASSIGNED, CONVERSATION_STATUS_CHANGED, TYPING_CHANGED}
)


@dataclass(frozen=True)
class InboxScope:
    status: ConversationStatus
    assignee: object  # a member id, None (unassigned) or ANY_ASSIGNEE
    search: str | None
    with_counts: bool


async def inbox_scope(viewer: Viewer, inbox_filter: InboxFilter) -> InboxScope:
    assignee = await scope_assignee(viewer, inbox_filter)
    search = search_text(inbox_filter).lower() or None
    return InboxScope(
        status=inbox_filter.status, assignee=assignee, search=search,
        with_counts=Capability.TEAM_INBOX in viewer.capabilities,
    )


def _in_scope(scope: InboxScope, status: str | None, assignee_id: int | None) -> bool:
    if status != scope.status.value:
        return False
    return scope.assignee is ANY_ASSIGNEE or scope.assignee == assignee_id


def _typing_hidden(viewer: Viewer, event: BusEvent) -> bool:
    return event.kind == TYPING_CHANGED and (
        event.payload.get("user_id") == viewer.user_id or Capability.TEAM_INBOX not in viewer.capabilities
    )


def inbox_accepts(viewer: Viewer, scope: InboxScope, event: BusEvent) -> bool:
    if concerns_access(viewer, event):
        return True
    if event.kind not in _CONVERSATION_LIVE_KINDS or _typing_hidden(viewer, event):
        return False
    facts = event.payload
    status, assignee = facts.get("status"), facts.get("assignee_id")
    before_status = facts.get("previous_status", status)
    before_assignee = facts.get("previous_assignee_id", assignee)
    return _in_scope(scope, status, assignee) or _in_scope(scope, before_status, before_assignee)


def changes_counts(event: BusEvent) -> bool:
    """Assignments, status changes and new conversations move the tab counts."""
    if event.kind in (CONVERSATION_ASSIGNED, CONVERSATION_STATUS_CHANGED):
        return True
    return event.kind == MESSAGE_CREATED and bool(event.payload.get("new_conversation"))


def search_matches(scope: InboxScope, phone: str, name: str) -> bool:
    return scope.search is None or scope.search in phone.lower() or scope.search in name.lower()


async def watchable_conversation(viewer: Viewer, conversation_id: str) -> int:
    return (await get_conversation(viewer, conversation_id)).id


def conversation_accepts(viewer: Viewer, conversation_id: int, event: BusEvent) -> bool:
    if concerns_access(viewer, event):
        return True
    if event.conversation_id != conversation_id or event.kind not in _CONVERSATION_LIVE_KINDS:
        return False
    return not _typing_hidden(viewer, event)


def require_notifications(viewer: Viewer) -> None:
    viewer.require_capability()


def notification_accepts(viewer: Viewer, event: BusEvent) -> bool:
    return concerns_access(viewer, event) or (event.kind == NOTIFICATION_CREATED and event.user_id == viewer.user_id)


def concerns_access(viewer: Viewer, event: BusEvent) -> bool:
    """An access event for this viewer: `ends_access`, or their role or their account's
    plan changed (a subscription re-checks it may still run)."""
    if event.kind == ACCESS_CHANGED:
        return event.payload.get("user_id") in (None, viewer.user_id)
    return ends_access(viewer, event)


def ends_access(viewer: Viewer, event: BusEvent) -> bool:
    """The viewer logged out this session, or was deactivated or logged out everywhere."""
    if event.kind != ACCESS_REVOKED or event.payload.get("user_id") != viewer.user_id:
        return False
    session_id = event.payload.get("session_id")
    return session_id is None or session_id == viewer.session_id
