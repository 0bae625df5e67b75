"""Finding a conversation the viewer may see (tenancy is enforced here, once)."""
from __future__ import annotations

from models import Conversation
from resolvers.errors import not_found
from resolvers.ids import parse_id
from resolvers.viewer import Viewer


async def get_conversation(viewer: Viewer, conversation_id: str | int, field: str = "conversationId") -> Conversation:
    conversation = await Conversation.get_or_none(
        id=parse_id(conversation_id, "Conversation", field), account_id=viewer.account_id
    )
    if conversation is None:
        raise not_found("Conversation", field)
    return conversation


def conversation_facts(conversation: Conversation) -> dict:
    """The few fields every conversation event carries, so a subscriber can place the
    conversation in its inbox scope without a database query."""
    return {
        "conversation_id": conversation.id,
        "assignee_id": conversation.assignee_id,
        "status": conversation.status.value,
        "version": conversation.version,
        "last_activity_at": conversation.last_activity_at.isoformat(),
    }
