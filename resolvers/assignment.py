"""Assigning, reassigning and unassigning conversations, with history in the same
transaction and notifications/events published after commit."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from tortoise.expressions import F

from models import AssignmentEvent, Conversation, NotificationKind, User
from resolvers.conversations import conversation_facts, get_conversation
from resolvers.counts import move_conversation
from resolvers.errors import DomainError, ErrorCode, not_found, validation, without_nul
from resolvers.ids import parse_id
from resolvers.notifications import notify
from resolvers.outbox import Outbox, utcnow, write_transaction
from resolvers.viewer import Viewer
from subscriptions.events import CONVERSATION_ASSIGNED

MAX_NOTE_LENGTH = 1000


class _NoExpectation:
    def __repr__(self) -> str:
        return "NO_EXPECTATION"


NO_EXPECTATION: Final = _NoExpectation()


async def _resolve_assignee(viewer: Viewer, assignee_id: str | None) -> User | None:
    if assignee_id is None:
        return None
    assignee = await User.get_or_none(id=parse_id(assignee_id, "Member", "assigneeId"), account_id=viewer.account_id)
    if assignee is None:
        raise not_found("Member", "assigneeId")
    if not assignee.active:
        raise validation(f"{assignee.name} is deactivated and cannot be assigned", "assigneeId")
    return assignee


def _parse_expected(viewer: Viewer, expected: str | None | _NoExpectation) -> int | None | _NoExpectation:
    if expected is None or isinstance(expected, _NoExpectation):
        return expected
    # An expected id from another account can never match: it is simply "not found".
    return parse_id(expected, "Member", "expectedAssigneeId")


@dataclass(frozen=True)
class Assignment:
    """A conversation as the change left it, and the member now holding it (None:
    unassigned), so callers can show the assignee without loading it again."""

    conversation: Conversation
    assignee: User | None


async def assign_conversation(
    viewer: Viewer,
    conversation_id: str,
    assignee_id: str | None,
    *,
    note: str | None = None,
    expected_assignee_id: str | None | _NoExpectation = NO_EXPECTATION,
) -> Assignment:
    """Assign to a member, or unassign with `assignee_id=None`. With an expected assignee
    (an id, or None for "unassigned") this is a compare-and-set that raises
    ASSIGNMENT_CONFLICT, naming the current assignee, when it changed hands meanwhile."""
    viewer.require_writer()
    viewer.require_capability()
    note = without_nul(note or "", "note").strip()
    if len(note) > MAX_NOTE_LENGTH:
        raise validation(f"Note must be at most {MAX_NOTE_LENGTH} characters", "note")
    conversation_pk = parse_id(conversation_id, "Conversation", "conversationId")
    assignee = await _resolve_assignee(viewer, assignee_id)
    expected = _parse_expected(viewer, expected_assignee_id)
    if isinstance(expected, _NoExpectation):
        conversation = await _reassign(viewer, conversation_pk, assignee, note)
    else:
        conversation = await _reassign_if_held_by(viewer, conversation_pk, expected, assignee, note)
    return Assignment(conversation, assignee)


async def _reassign(viewer: Viewer, conversation_pk: int, assignee: User | None, note: str) -> Conversation:
    """Whoever holds it now. The current owner is read inside the transaction, row-locked
    on PostgreSQL (SQLite serialises writers): concurrent plain reassignments queue up
    instead of failing, and each history row names its exact predecessor. The tenancy
    check is that same read: no statement before the transaction."""
    new_id = assignee.id if assignee else None
    async with write_transaction(viewer.account_id) as outbox:
        connection = outbox.connection
        conversation = await (
            Conversation.filter(id=conversation_pk, account_id=viewer.account_id)
            .using_db(connection).select_for_update(no_key=True).first()
        )
        if conversation is None:
            raise not_found("Conversation", "conversationId")
        previous_id = conversation.assignee_id
        if previous_id == new_id:
            return conversation  # already so: nothing changes, no history row
        if not await _compare_and_set(conversation.id, previous_id, new_id, connection):
            # Cannot happen while the row is locked (and SQLite serialises writers); said, not hidden.
            raise DomainError(ErrorCode.ASSIGNMENT_CONFLICT, "The conversation changed hands meanwhile; try again",
                              "conversationId", current_assignee_id=previous_id)
        # Read under its row lock above: only the owner and the version moved.
        conversation.assignee_id = new_id
        conversation.version += 1
        await _move_counts(conversation, previous_id, connection)
        await record_assignment(viewer, conversation, previous_id, assignee, note, outbox)
    await outbox.publish()
    return conversation


async def _reassign_if_held_by(
    viewer: Viewer, conversation_pk: int, expected: int | None, assignee: User | None, note: str
) -> Conversation:
    """The compare-and-set: only if `expected` (None: nobody) still holds it."""
    new_id = assignee.id if assignee else None
    conversation = await get_conversation(viewer, conversation_pk)
    if expected == new_id and conversation.assignee_id == new_id:
        return conversation  # already so: nothing changes, no history row
    async with write_transaction(viewer.account_id) as outbox:
        connection = outbox.connection
        changed = await _compare_and_set(conversation.id, expected, new_id, connection)
        if changed:
            conversation = await Conversation.get(id=conversation.id).using_db(connection)
            await _move_counts(conversation, expected, connection)
            await record_assignment(viewer, conversation, expected, assignee, note, outbox)
    if not changed:
        raise await _conflict(await get_conversation(viewer, conversation.id))
    await outbox.publish()
    return conversation


async def _compare_and_set(conversation_id: int, previous_id: int | None, new_id: int | None, connection) -> bool:
    rows = await Conversation.filter(id=conversation_id, assignee_id=previous_id).using_db(connection).update(
        assignee_id=new_id, version=F("version") + 1
    )
    return rows == 1


async def _move_counts(conversation: Conversation, previous_id: int | None, connection) -> None:
    """`conversation` as read after the compare-and-set, inside the transaction: its
    status is current, since the change holds the conversation's row lock."""
    status = conversation.status
    await move_conversation(connection, conversation.account_id, (status, previous_id), (status, conversation.assignee_id))


async def _conflict(conversation: Conversation) -> DomainError:
    current = await User.get_or_none(id=conversation.assignee_id) if conversation.assignee_id else None
    holder = current.name if current else "nobody"
    return DomainError(
        ErrorCode.ASSIGNMENT_CONFLICT,
        f"The conversation changed hands meanwhile; it is now assigned to {holder}",
        "expectedAssigneeId",
        current_assignee_id=conversation.assignee_id,
    )


async def record_assignment(
    viewer: Viewer, conversation: Conversation, previous_id: int | None, assignee: User | None, note: str, outbox: Outbox
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


async def unassign_all_of(viewer: Viewer, member: User, outbox: Outbox, *, note: str) -> int:
    """Unassign every conversation of a member (in the caller's transaction)."""
    # Row-locked in id order before any counter moves (the one lock order: resolvers/outbox.py).
    conversations = await (
        Conversation.filter(account_id=viewer.account_id, assignee_id=member.id)
        .order_by("id").select_for_update(no_key=True).using_db(outbox.connection)
    )
    for conversation in conversations:
        if await _compare_and_set(conversation.id, member.id, None, outbox.connection):
            conversation.assignee_id = None
            conversation.version += 1
            await _move_counts(conversation, member.id, outbox.connection)
            await record_assignment(viewer, conversation, member.id, None, note, outbox)
    return len(conversations)
