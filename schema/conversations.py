"""Contacts, conversations, messages and the thread's timeline."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

import models
from resolvers import timeline as timeline_resolvers
from resolvers.timeline import TimelineCursor
from schema.context import Info
from schema.enums import ConversationStatus, DeliveryStatus, MessageDirection
from schema.errors import run_query
from schema.loaders import Loaders, existing
from schema.members import User, user_or_none
from schema.pagination import PageInfo, decode_cursor, encode_cursor, keyset_page
from subscriptions.typing_service import typing_user_ids


@strawberry.type(description="A customer, known by their phone number.")
class Contact:
    id: strawberry.ID = strawberry.field(description="Opaque contact id.")
    phone: str = strawberry.field(description="Phone number in E.164 form, e.g. +14155550123.")
    name: str = strawberry.field(description="Name, if the team has recorded one (empty otherwise).")
    opted_out: bool = strawberry.field(
        description="The customer replied STOP (or the provider reports they opted out): replies are refused with "
        "RECIPIENT_OPTED_OUT until they send START."
    )

    @classmethod
    def from_model(cls, contact: models.Contact) -> Contact:
        return cls(id=strawberry.ID(str(contact.id)), phone=contact.phone, name=contact.name,
                   opted_out=contact.opted_out)


@strawberry.type(description="Where a reply is on its way to the customer.")
class MessageDelivery:
    status: DeliveryStatus = strawberry.field(description="Moves forward only.")
    error_code: str | None = strawberry.field(
        description="Why it failed, or why the last try did not go: the provider's code (Twilio's 30003, "
        "MessageMedia's status code), or ours: NO_CHANNEL (no provider connected), UNCONFIRMED (the provider never "
        "confirmed it: it may or may not have arrived), GAVE_UP (the provider refused to take it, try after try), "
        "RECIPIENT_OPTED_OUT (the customer sent STOP before it went)."
    )
    error_message: str | None = strawberry.field(description="The same, for a person.")
    updated_at: datetime = strawberry.field(description="When the status last changed.")
    message_id: strawberry.Private[int]
    loaders: strawberry.Private[Loaders]

    @strawberry.field(
        description="How many times it was handed to the provider since it was last queued (retryMessage starts "
        "the count again)."
    )
    async def attempts(self) -> int:
        return await self.loaders.delivery_attempts.load(self.message_id)


@strawberry.type(description="One SMS message in a conversation.")
class Message:
    id: strawberry.ID = strawberry.field(description="Opaque message id.")
    direction: MessageDirection = strawberry.field(description="INBOUND from the customer or OUTBOUND from a member.")
    body: str = strawberry.field(description="The text.")
    created_at: datetime = strawberry.field(description="When it was sent or received.")
    author_id: strawberry.Private[int | None]
    conversation_id: strawberry.Private[int]
    loaders: strawberry.Private[Loaders]

    @classmethod
    def from_model(cls, message: models.Message, loaders: Loaders) -> Message:
        return cls(
            id=strawberry.ID(str(message.id)), direction=message.direction, body=message.body,
            created_at=message.created_at, author_id=message.author_id, conversation_id=message.conversation_id,
            loaders=loaders, delivery=_delivery(message, loaders),
        )

    delivery: MessageDelivery | None = strawberry.field(
        description="For a reply: where it is on its way to the customer (null for inbound messages and replies "
        "stored before teaminbox delivered them)."
    )

    @strawberry.field(description="The member who sent it (null for inbound messages).")
    async def author(self) -> User | None:
        return user_or_none(await self.loaders.user_or_none(self.author_id))

    @strawberry.field(description="The conversation it belongs to.")
    async def conversation(self) -> Conversation:
        return await Conversation.load(self.conversation_id, self.loaders)


def _delivery(message: models.Message, loaders: Loaders) -> MessageDelivery | None:
    if message.delivery_status is None:
        return None
    return MessageDelivery(
        status=DeliveryStatus(message.delivery_status), error_code=message.delivery_error_code,
        error_message=message.delivery_error_message,
        updated_at=message.delivery_updated_at or message.created_at, message_id=message.id, loaders=loaders,
    )


@strawberry.type(description="A change of owner: 'Assigned to Bob by Alice'.")
class AssignmentEvent:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    note: str | None = strawberry.field(description="Optional note left with the change.")
    created_at: datetime = strawberry.field(description="When it happened.")
    actor_id: strawberry.Private[int | None]
    assignee_id: strawberry.Private[int | None]
    previous_assignee_id: strawberry.Private[int | None]
    loaders: strawberry.Private[Loaders]

    @classmethod
    def from_model(cls, event: models.AssignmentEvent, loaders: Loaders) -> AssignmentEvent:
        return cls(
            id=strawberry.ID(str(event.id)), note=event.note or None, created_at=event.created_at,
            actor_id=event.actor_id, assignee_id=event.assignee_id, previous_assignee_id=event.previous_assignee_id,
            loaders=loaders,
        )

    @strawberry.field(description="Who made the change.")
    async def actor(self) -> User | None:
        return user_or_none(await self.loaders.user_or_none(self.actor_id))

    @strawberry.field(description="The new assignee (null: unassigned).")
    async def assignee(self) -> User | None:
        return user_or_none(await self.loaders.user_or_none(self.assignee_id))

    @strawberry.field(description="The assignee before the change (null: was unassigned).")
    async def previous_assignee(self) -> User | None:
        return user_or_none(await self.loaders.user_or_none(self.previous_assignee_id))


@strawberry.type(description="The conversation was closed or reopened.")
class StatusChange:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    status: ConversationStatus = strawberry.field(description="The new status.")
    created_at: datetime = strawberry.field(description="When it happened.")
    actor_id: strawberry.Private[int | None]
    loaders: strawberry.Private[Loaders]

    @classmethod
    def from_model(cls, event: models.StatusEvent, loaders: Loaders) -> StatusChange:
        return cls(
            id=strawberry.ID(str(event.id)), status=event.status, created_at=event.created_at,
            actor_id=event.actor_id, loaders=loaders,
        )

    @strawberry.field(description="Who changed it (null: reopened by the customer writing in).")
    async def actor(self) -> User | None:
        return user_or_none(await self.loaders.user_or_none(self.actor_id))


TimelineItem = Annotated[
    Message | AssignmentEvent | StatusChange,
    strawberry.union("TimelineItem", description="One entry of a conversation's thread."),
]


def _timeline_item(item: timeline_resolvers.TimelineItem, loaders: Loaders) -> Message | AssignmentEvent | StatusChange:
    if isinstance(item, models.Message):
        return Message.from_model(item, loaders)
    if isinstance(item, models.AssignmentEvent):
        return AssignmentEvent.from_model(item, loaders)
    return StatusChange.from_model(item, loaders)


@strawberry.type(description="An entry of the timeline and its cursor.")
class TimelineEdge:
    cursor: str = strawberry.field(description="Pass as `after` to continue after this entry.")
    node: TimelineItem = strawberry.field(description="The message or event.")


@strawberry.type(description="A page of a conversation's thread, oldest first.")
class TimelineConnection:
    edges: list[TimelineEdge] = strawberry.field(description="The entries of this page.")
    page_info: PageInfo = strawberry.field(description="Whether more entries follow.")


def _timeline_cursor(item: timeline_resolvers.TimelineItem) -> str:
    cursor = timeline_resolvers.cursor_of(item)
    return encode_cursor(cursor.created_at, cursor.kind, cursor.id)


@strawberry.type(description="A customer's SMS thread with the team.")
class Conversation:
    id: strawberry.ID = strawberry.field(description="Opaque conversation id.")
    status: ConversationStatus = strawberry.field(description="OPEN or CLOSED.")
    last_activity_at: datetime = strawberry.field(
        description="When a message was last sent or received: the inbox's order."
    )
    version: int = strawberry.field(description="Increases with every change of assignee or status.")
    model: strawberry.Private[models.Conversation]
    loaders: strawberry.Private[Loaders]

    @classmethod
    def from_model(cls, conversation: models.Conversation, loaders: Loaders) -> Conversation:
        return cls(
            id=strawberry.ID(str(conversation.id)), status=conversation.status,
            last_activity_at=conversation.last_activity_at, version=conversation.version,
            model=conversation, loaders=loaders,
        )

    @classmethod
    def from_assignment(
        cls, conversation: models.Conversation, assignee: models.User | None, loaders: Loaders
    ) -> Conversation:
        """A conversation whose assignee the caller already holds: it is shown, not reloaded."""
        if assignee is not None:
            loaders.user.prime(assignee.id, assignee)
        return cls.from_model(conversation, loaders)

    @classmethod
    async def load(cls, conversation_id: int, loaders: Loaders) -> Conversation:
        return cls.from_model(await existing(loaders.conversation, conversation_id), loaders)

    @strawberry.field(description="The customer.")
    async def contact(self) -> Contact:
        return Contact.from_model(await existing(self.loaders.contact, self.model.contact_id))

    @strawberry.field(description="Who owns the conversation (null: unassigned).")
    async def assignee(self) -> User | None:
        return user_or_none(await self.loaders.user_or_none(self.model.assignee_id))

    @strawberry.field(description="The newest message, for the inbox row's preview.")
    async def last_message(self) -> Message | None:
        if self.model.last_message_id is None:
            return None
        message = await self.loaders.message.load(self.model.last_message_id)
        return None if message is None else Message.from_model(message, self.loaders)

    @strawberry.field(description="Every change of owner, oldest first.")
    async def assignment_history(self) -> list[AssignmentEvent]:
        history = await timeline_resolvers.assignment_history(self.model)
        return [AssignmentEvent.from_model(row, self.loaders) for row in history]

    @strawberry.field(description="Members typing in this conversation right now (live state, not stored).")
    async def typing_users(self) -> list[User]:
        ids = await typing_user_ids(self.model.id)
        users = await self.loaders.user.load_many(ids)
        return [User.from_model(user) for user in users if user is not None]

    @strawberry.field(description="Messages, assignment and status changes interleaved in time order, oldest first.")
    async def timeline(self, info: Info, first: int | None = None, after: str | None = None) -> TimelineConnection:
        async def load() -> TimelineConnection:
            size = info.context.limits.page_size(first)
            cursor = TimelineCursor(*decode_cursor(after, (datetime, int, int))) if after else None
            items = await timeline_resolvers.timeline(self.model, first=size, after=cursor)
            page = keyset_page(items, size, after, _timeline_cursor)
            edges = [TimelineEdge(cursor=cursor, node=_timeline_item(item, self.loaders)) for cursor, item in page.rows]
            return TimelineConnection(edges=edges, page_info=page.page_info)

        return await run_query(load)
