"""Outbound messages: members replying, and the bookkeeping every new message does."""
from __future__ import annotations

from tortoise.exceptions import IntegrityError

from models import Contact, Conversation, Message, MessageDirection
from resolvers.conversations import conversation_facts, get_conversation
from resolvers.delivery import enqueue, pending_reply, wake_workers
from resolvers.errors import DomainError, ErrorCode, storable_text, validation
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


MAX_CLIENT_MESSAGE_ID_LENGTH = 100


async def send_message(
    viewer: Viewer, conversation_id: str, body: str, client_message_id: str | None = None
) -> Message:
    """Store a reply PENDING with its delivery job (resolvers/delivery.py sends it). With
    `client_message_id`, the sending client's own id for the reply, a retry of the same
    call (a phone on a bad network) returns the reply already stored instead of a second."""
    viewer.require_writer()
    body = clean_body(body)
    client_id = _client_message_id(client_message_id)
    conversation = await get_conversation(viewer, conversation_id)
    if client_id is not None:
        earlier = await Message.get_or_none(conversation_id=conversation.id, client_message_id=client_id)
        if earlier is not None:
            return _same_reply(earlier, viewer, body)
    if await Contact.filter(id=conversation.contact_id, opted_out=True).exists():
        raise DomainError(
            ErrorCode.RECIPIENT_OPTED_OUT, "The customer opted out (STOP): no reply is sent until they send START",
            "conversationId",
        )
    try:
        async with write_transaction(viewer.account_id) as outbox:
            now = utcnow()
            message = await Message.create(
                account_id=viewer.account_id, conversation_id=conversation.id, direction=MessageDirection.OUTBOUND,
                body=body, author_id=viewer.user_id, created_at=now, client_message_id=client_id,
                **pending_reply(now), using_db=outbox.connection,
            )
            await enqueue(outbox, message)
            await record_message(conversation, message, outbox)
    except IntegrityError:
        if client_id is None:
            raise
        # The same client id at the same moment (a retry racing its original): one stored.
        stored = await Message.get(conversation_id=conversation.id, client_message_id=client_id)
        return _same_reply(stored, viewer, body)
    await outbox.publish()
    wake_workers()
    await stop_typing_after_send(
        viewer.account_id, conversation.id, viewer.user_id,
        {"assignee_id": conversation.assignee_id, "status": conversation.status.value},
    )
    return message


def _client_message_id(raw: str | None) -> str | None:
    if raw is None:
        return None
    cleaned = storable_text(raw, "clientMessageId").strip()
    if not cleaned or len(cleaned) > MAX_CLIENT_MESSAGE_ID_LENGTH:
        raise validation(f"clientMessageId must be 1 to {MAX_CLIENT_MESSAGE_ID_LENGTH} characters", "clientMessageId")
    return cleaned


def _same_reply(earlier: Message, viewer: Viewer, body: str) -> Message:
    """A retry is the same call: another member's, or another text, under the same client
    id is a client's mistake, not a retry."""
    if earlier.author_id != viewer.user_id or earlier.body != body:
        raise validation("This clientMessageId was already used for another message", "clientMessageId")
    return earlier
