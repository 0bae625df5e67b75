"""Assigning, reassigning and unassigning conversations, with history in the same
transaction and notifications/events published after commit.

Every change of owner takes one path: read the conversation under its row lock (on
PostgreSQL `FOR NO KEY UPDATE`; SQLite serialises write transactions), compare it with
what the caller expected, skip a no-op, update, record history, notify. Concurrent
plain reassignments therefore queue up instead of failing, each history row names its
exact predecessor, and a compare-and-set that lost the race fails with the
conversation as it is now."""
from __future__ import annotations

from dataclasses import dataclass

from tortoise.expressions import F

from models import AssignmentEvent, Conversation, NotificationKind, Role, User
from resolvers.conversations import conversation_facts
from resolvers.counts import move_conversation
from resolvers.errors import DomainError, ErrorCode, not_found, storable_text, validation
from resolvers.ids import parse_id
from resolvers.notifications import notify
from resolvers.outbox import Outbox, utcnow, write_transaction
from resolvers.viewer import Viewer
from subscriptions.events import CONVERSATION_ASSIGNED

MAX_NOTE_LENGTH = 1000


@dataclass(frozen=True)
class ExpectedAssignee:
    """Makes an assignment a compare-and-set: it succeeds only while this member (None:
    nobody) still holds the conversation. Its absence means "whoever holds it now"."""

    assignee_id: str | None


@dataclass(frozen=True)
class Assignment:
    """A conversation as the change left it, and the member now holding it (None:
    unassigned), so callers can show the assignee without loading it again."""

    conversation: Conversation
    assignee: User | None


class AssignmentConflict(DomainError):
    """The conversation changed hands before a compare-and-set: it carries the
    conversation and its holder as they are now, for the caller to show."""

    def __init__(self, current: Assignment):
        holder = current.assignee.name if current.assignee else "nobody"
        super().__init__(
            ErrorCode.ASSIGNMENT_CONFLICT,
            f"The conversation changed hands meanwhile; it is now assigned to {holder}",
            "expectedAssigneeId",
        )
        self.current = current


async def assign_conversation(
    viewer: Viewer,
    conversation_id: str,
    assignee_id: str | None,
    *,
    note: str | None = None,
    expected: ExpectedAssignee | None = None,
) -> Assignment:
    """Assign to a member, or unassign with `assignee_id=None`. With `expected` this is a
    compare-and-set that raises AssignmentConflict when the conversation changed hands."""
    viewer.require_writer()
    viewer.require_capability()
    note = storable_text(note or "", "note").strip()
    if len(note) > MAX_NOTE_LENGTH:
        raise validation(f"Note must be at most {MAX_NOTE_LENGTH} characters", "note")
    conversation_pk = parse_id(conversation_id, "Conversation", "conversationId")
    assignee_pk = None if assignee_id is None else parse_id(assignee_id, "Member", "assigneeId")
    # An expected id of no member here (another account's, say) can never match: a conflict, as for
    # any other member who does not hold it, so it tells nothing about that id.
    expected_id = _expected_id(expected)
    async with write_transaction(viewer.account_id) as outbox:
        # The assignee is read, and locked, inside the transaction and first (the order
        # deactivation takes: member, then their conversations): a deactivation commits
        # before this reads, and is seen, or waits until this commits, and then unassigns
        # what this assigned. No interleaving leaves an inactive member holding one.
        assignee = await _assignable_member(viewer, assignee_pk, outbox)
        new_id = assignee.id if assignee else None
        # The tenancy check is this read: no statement before the transaction.
        conversation = await (
            Conversation.filter(id=conversation_pk, account_id=viewer.account_id)
            .using_db(outbox.connection).select_for_update(no_key=True).first()
        )
        if conversation is None:
            raise not_found("Conversation", "conversationId")
        previous_id = conversation.assignee_id
        if expected is not None and previous_id != expected_id:
            holder = await User.get_or_none(id=previous_id, using_db=outbox.connection) if previous_id else None
            raise AssignmentConflict(Assignment(conversation, holder))
        if previous_id != new_id:
            await _change_owner(viewer, conversation, assignee, note, outbox)
    await outbox.publish()
    return Assignment(conversation, assignee)


async def unassign_all_of(viewer: Viewer, member: User, outbox: Outbox, *, note: str) -> int:
    """Unassign every conversation of a member (in the caller's transaction)."""
    # Row-locked in id order before any counter moves (the one lock order: resolvers/outbox.py).
    conversations = await (
        Conversation.filter(account_id=viewer.account_id, assignee_id=member.id)
        .order_by("id").select_for_update(no_key=True).using_db(outbox.connection)
    )
    for conversation in conversations:
        await _change_owner(viewer, conversation, None, note, outbox)
    return len(conversations)


async def _assignable_member(viewer: Viewer, pk: int | None, outbox: Outbox) -> User | None:
    """The member to assign, row-locked: active, and one who can work conversations
    (an analyst reads only, so cannot answer one)."""
    if pk is None:
        return None
    assignee = await (
        User.filter(id=pk, account_id=viewer.account_id)
        .using_db(outbox.connection).select_for_update(no_key=True).first()
    )
    if assignee is None:
        raise not_found("Member", "assigneeId")
    if not assignee.active:
        raise validation(f"{assignee.name} is deactivated and cannot be assigned", "assigneeId")
    if assignee.role is Role.ANALYST:
        raise validation(f"{assignee.name} is an analyst (read only) and cannot be assigned", "assigneeId")
    return assignee


def _expected_id(expected: ExpectedAssignee | None) -> int | None:
    if expected is None or expected.assignee_id is None:
        return None
    return parse_id(expected.assignee_id, "Member", "expectedAssigneeId")


async def _change_owner(
    viewer: Viewer, conversation: Conversation, assignee: User | None, note: str, outbox: Outbox
) -> None:
    """`conversation` was read inside the caller's transaction under its row lock, so its
    owner and status are current: update it, its counters, history and notification."""
    previous_id = conversation.assignee_id
    new_id = assignee.id if assignee else None
    await Conversation.filter(id=conversation.id).using_db(outbox.connection).update(
        assignee_id=new_id, version=F("version") + 1
    )
    conversation.assignee_id = new_id
    conversation.version += 1
    status = conversation.status
    await move_conversation(outbox.connection, conversation.account_id, (status, previous_id), (status, new_id))
    await record_assignment(viewer, conversation, previous_id, assignee, note, outbox)


async def record_assignment(
    viewer: Viewer,
    conversation: Conversation,
    previous_id: int | None,
    assignee: User | None,
    note: str,
    outbox: Outbox,
) -> AssignmentEvent:
    """The history row, the event, and the new assignee's notification (not when they
    assigned it to themselves), all in the caller's transaction."""
    history = await AssignmentEvent.create(
        conversation_id=conversation.id, actor_id=viewer.user_id, assignee_id=assignee.id if assignee else None,
        previous_assignee_id=previous_id, note=note, created_at=utcnow(), using_db=outbox.connection,
    )
    outbox.record(
        CONVERSATION_ASSIGNED,
        {**conversation_facts(conversation), "previous_assignee_id": previous_id, "actor_id": viewer.user_id,
         "assignment_event_id": history.id},
        conversation_id=conversation.id,
    )
    if assignee is not None and assignee.id != viewer.user_id:
        await notify(outbox, assignee.id, NotificationKind.ASSIGNED, conversation, actor=viewer.user)
    return history
