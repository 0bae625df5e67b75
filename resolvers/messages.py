"""Outbound messages: members replying, and the bookkeeping every new message does."""
from __future__ import annotations

from models import Conversation, Message, MessageDirection
from resolvers.conversations import conversation_facts, get_conversation
from resolvers.errors import storable_text, validation
from resolvers.outbox import Outbox, utcnow, write_transaction
from resolvers.viewer import Viewer
from subscriptions.events import MESSAGE_CREATED
from subscriptions.typing_service import stop_typing_after_send

# Ten SMS segments: what carriers and providers accept as one concatenated message.
MAX_BODY_LENGTH = 1600


def clean_body(body: str, field: str = "body") -> str:
    body = storable_text(body, field).strip()
    if not body:
        raise validation("Message body must not be empty", field)
    if len(body) > MAX_BODY_LENGTH:
        raise validation(f"Message body must be at most {MAX_BODY_LENGTH} characters", field)
    return body


async def record_message(
    conversation: Conversation, message: Message, outbox: Outbox, *, new_conversation: bool = False
) -> None:
    """Bump the conversation's activity and last message, and log the event (caller's
    transaction). A late delivery of an older message never moves the conversation back
    in the inbox nor becomes its preview; of messages at the same instant the later one
    (higher id, so this one) wins."""
    newest = await Conversation.filter(
        id=conversation.id, last_activity_at__lte=message.created_at
    ).using_db(outbox.connection).update(last_activity_at=message.created_at, last_message_id=message.id)
    if newest:
        conversation.last_activity_at = message.created_at
        conversation.last_message_id = message.id
    outbox.record(
        MESSAGE_CREATED,
        {**conversation_facts(conversation), "message_id": message.id, "direction": message.direction.value,
         "author_id": message.author_id, "new_conversation": new_conversation},
        conversation_id=conversation.id,
    )


async def send_message(viewer: Viewer, conversation_id: str, body: str) -> Message:
    viewer.require_writer()
    body = clean_body(body)
    conversation = await get_conversation(viewer, conversation_id)
    async with write_transaction(viewer.account_id) as outbox:
        message = await Message.create(
            account_id=viewer.account_id, conversation_id=conversation.id, direction=MessageDirection.OUTBOUND,
            body=body, author_id=viewer.user_id, created_at=utcnow(), using_db=outbox.connection,
        )
        await record_message(conversation, message, outbox)
    await outbox.publish()
    await stop_typing_after_send(
        viewer.account_id, conversation.id, viewer.user_id,
        {"assignee_id": conversation.assignee_id, "status": conversation.status.value},
    )
    return message
