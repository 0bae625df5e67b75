"""Live event types: what inboxEvents and conversationEvents stream."""
from __future__ import annotations

from typing import Annotated

import strawberry

from models import ConversationStatus as ConversationStatusModel
from schema.conversations import Conversation, Message
from schema.enums import ConversationStatus
from schema.event_cache import SharedEvent
from schema.inbox import InboxCounts
from schema.loaders import existing
from schema.members import User, user_or_none
from schema.pagination import decode_cursor, encode_cursor
from subscriptions.events import (
    CONVERSATION_ASSIGNED,
    CONVERSATION_STATUS_CHANGED,
    MESSAGE_CREATED,
    MESSAGE_DELIVERY_CHANGED,
    TYPING_CHANGED,
)

CURSOR_DESCRIPTION = "Pass as `after` when subscribing again to resume right after this event."


@strawberry.type(description="A message was sent or received.")
class MessageAdded:
    cursor: str = strawberry.field(description=CURSOR_DESCRIPTION)
    conversation: Conversation = strawberry.field(description="The conversation, as it is now.")
    message: Message = strawberry.field(description="The new message.")


@strawberry.type(description="A reply's delivery status moved: sent, delivered, failed, or pending again (a retry).")
class MessageDeliveryChanged:
    cursor: str = strawberry.field(description=CURSOR_DESCRIPTION)
    conversation: Conversation = strawberry.field(description="The conversation, as it is now.")
    message: Message = strawberry.field(description="The reply, with its `delivery` as it is now.")


@strawberry.type(description="A conversation was assigned, reassigned or unassigned.")
class ConversationAssigned:
    cursor: str = strawberry.field(description=CURSOR_DESCRIPTION)
    conversation: Conversation = strawberry.field(description="The conversation, as it is now.")
    assignee: User | None = strawberry.field(description="The new assignee (null: unassigned).")
    previous_assignee: User | None = strawberry.field(description="Who held it before (null: nobody).")
    actor: User | None = strawberry.field(description="Who made the change.")


@strawberry.type(description="A conversation was closed or reopened.")
class ConversationStatusChanged:
    cursor: str = strawberry.field(description=CURSOR_DESCRIPTION)
    conversation: Conversation = strawberry.field(description="The conversation, as it is now.")
    status: ConversationStatus = strawberry.field(description="The new status.")


@strawberry.type(description="A member started or stopped typing (live only: no cursor, never replayed).")
class TypingChanged:
    conversation: Conversation = strawberry.field(description="Where.")
    user: User = strawberry.field(description="Who.")
    is_typing: bool = strawberry.field(description="true on start, false on stop or expiry.")


@strawberry.type(description="The inbox tab counts changed; these are the new ones for the view's status.")
class InboxCountsChanged:
    counts: InboxCounts = strawberry.field(description="The counts now.")


@strawberry.type(
    description="The server cannot continue this stream seamlessly (cursor too old, or the client read too "
    "slowly): refetch the view, then subscribe again without `after`."
)
class ResyncRequired:
    reason: str = strawberry.field(description="Why.")


ConversationEvent = Annotated[
    MessageAdded | MessageDeliveryChanged | ConversationAssigned | ConversationStatusChanged | TypingChanged
    | ResyncRequired,
    strawberry.union("ConversationEvent", description="Something that happened in one conversation."),
]
InboxEvent = Annotated[
    MessageAdded | MessageDeliveryChanged | ConversationAssigned | ConversationStatusChanged | TypingChanged
    | InboxCountsChanged | ResyncRequired,
    strawberry.union("InboxEvent", description="Something that changed an inbox view."),
]


def event_cursor(seq: int) -> str:
    return encode_cursor(seq)


def parse_event_cursor(after: str | None) -> int | None:
    return decode_cursor(after, (int,))[0] if after else None


RenderedEvent = MessageAdded | MessageDeliveryChanged | ConversationAssigned | ConversationStatusChanged | TypingChanged


async def render(item: SharedEvent) -> RenderedEvent | None:
    """The GraphQL object for a conversation event, built once from the rows the event's
    subscribers share: every subscriber gets the same object, so executing its selection
    can be shared too (schema/multiplex.py)."""
    return await item.once("render", lambda: _render(item))


async def _render(item: SharedEvent) -> RenderedEvent | None:
    event, loaders = item.event, item.loaders
    facts = event.payload
    if event.conversation_id is None:  # not a conversation's event: nothing to show
        return None
    conversation = await Conversation.load(event.conversation_id, loaders)
    if event.kind == TYPING_CHANGED:
        user = await existing(loaders.user, facts["user_id"])
        return TypingChanged(conversation=conversation, user=User.from_model(user), is_typing=facts["is_typing"])
    if event.seq is None:  # only typing is live-only; a stored event always has its seq
        return None
    cursor = event_cursor(event.seq)
    if event.kind == MESSAGE_CREATED:
        message = await existing(loaders.message, facts["message_id"])
        return MessageAdded(cursor=cursor, conversation=conversation, message=Message.from_model(message, loaders))
    if event.kind == MESSAGE_DELIVERY_CHANGED:
        message = await existing(loaders.message, facts["message_id"])
        return MessageDeliveryChanged(
            cursor=cursor, conversation=conversation, message=Message.from_model(message, loaders)
        )
    if event.kind == CONVERSATION_ASSIGNED:
        return ConversationAssigned(
            cursor=cursor, conversation=conversation,
            assignee=user_or_none(await loaders.user_or_none(facts["assignee_id"])),
            previous_assignee=user_or_none(await loaders.user_or_none(facts["previous_assignee_id"])),
            actor=user_or_none(await loaders.user_or_none(facts["actor_id"])),
        )
    if event.kind == CONVERSATION_STATUS_CHANGED:
        return ConversationStatusChanged(
            cursor=cursor, conversation=conversation, status=ConversationStatusModel(facts["status"])
        )
    return None
