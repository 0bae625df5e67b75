"""The typing indicator's rules: who may signal, and where."""
from __future__ import annotations

from resolvers.conversations import get_conversation
from resolvers.errors import DomainError, ErrorCode
from resolvers.viewer import Viewer
from subscriptions.typing_service import PresenceUnavailable, signal_typing


async def set_typing(viewer: Viewer, conversation_id: str, is_typing: bool) -> None:
    viewer.require_writer()
    viewer.require_capability()
    conversation = await get_conversation(viewer, conversation_id)
    facts = {"assignee_id": conversation.assignee_id, "status": conversation.status.value}
    try:
        await signal_typing(viewer.account_id, conversation.id, viewer.user_id, is_typing, facts)
    except PresenceUnavailable:
        raise DomainError(
            ErrorCode.UNAVAILABLE, "Typing indicators are unavailable right now; try again shortly"
        ) from None
