"""Finding a conversation the viewer may see (tenancy is enforced here, once), the facts
its events carry, and its status changes (close, reopen)."""
from __future__ import annotations

from typing import Any

from tortoise.expressions import F

from models import Conversation, ConversationStatus, StatusEvent
from resolvers.counts import move_conversation
from resolvers.errors import not_found
from resolvers.ids import parse_id
from resolvers.outbox import Outbox, utcnow, write_transaction
from resolvers.viewer import Viewer
from subscriptions.events import CONVERSATION_STATUS_CHANGED


async def get_conversation(viewer: Viewer, conversation_id: str | int, field: str = "conversationId") -> Conversation:
    conversation = await Conversation.get_or_none(
        id=parse_id(conversation_id, "Conversation", field), account_id=viewer.account_id
    )
    if conversation is None:
        raise not_found("Conversation", field)
    return conversation


def conversation_facts(conversation: Conversation) -> dict[str, Any]:
    """The few fields every conversation event carries, so a subscriber can place the
    conversation in its inbox scope without a database query."""
    return {
        "conversation_id": conversation.id,
        "assignee_id": conversation.assignee_id,
        "status": conversation.status.value,
        "version": conversation.version,
        "last_activity_at": conversation.last_activity_at.isoformat(),
    }


async def set_status(
    conversation: Conversation, status: ConversationStatus, outbox: Outbox, *, actor_id: int | None
) -> bool:
    """Change the status if it differs (compare-and-set on the old status), with its
    history row, counters and event, in the caller's transaction; `conversation` must have
    been read inside it, under its row lock. Returns whether it changed."""
    previous = conversation.status
    if previous == status:
        return False
    rows = await Conversation.filter(id=conversation.id, status=previous).using_db(outbox.connection).update(
        status=status, version=F("version") + 1
    )
    if rows != 1:
        return False
    conversation.status = status
    conversation.version += 1
    assignee_id = conversation.assignee_id
    await move_conversation(outbox.connection, conversation.account_id, (previous, assignee_id), (status, assignee_id))
    await StatusEvent.create(
        conversation_id=conversation.id, actor_id=actor_id, status=status, created_at=utcnow(),
        using_db=outbox.connection,
    )
    outbox.record(
        CONVERSATION_STATUS_CHANGED,
        {**conversation_facts(conversation), "previous_status": previous.value, "actor_id": actor_id},
        conversation_id=conversation.id,
    )
    return True


async def set_conversation_status(viewer: Viewer, conversation_id: str, status: ConversationStatus) -> Conversation:
    viewer.require_writer()
    conversation = await get_conversation(viewer, conversation_id)
    async with write_transaction(viewer.account_id) as outbox:
        conversation = await (
            Conversation.filter(id=conversation.id).select_for_update(no_key=True).using_db(outbox.connection).get()
        )
        await set_status(conversation, status, outbox, actor_id=viewer.user_id)
    await outbox.publish()
    return await get_conversation(viewer, conversation.id)
