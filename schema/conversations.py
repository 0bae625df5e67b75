"""Contacts, conversations, messages and the thread's timeline."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

import models
from resolvers import timeline as timeline_resolvers
from resolvers.timeline import TimelineCursor
from schema.context import Info
from schema.enums import ConversationStatus, MessageDirection
from schema.errors import run_query
from schema.loaders import Loaders
from schema.members import User, user_or_none
from schema.pagination import PageInfo, decode_cursor, encode_cursor
from subscriptions.typing_service import typing_user_ids


@strawberry.type(description="A customer, known by their phone number.")
class Contact:
    model: strawberry.Private[models.Contact]

    @strawberry.field(description="Opaque contact id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.model.id))

    @strawberry.field(description="Phone number in E.164 form, e.g. +14155550123.")
    def phone(self) -> str:
        return self.model.phone

    @strawberry.field(description="Name, if the team has recorded one (empty otherwise).")
    def name(self) -> str:
        return self.model.name


@strawberry.type(description="One SMS message in a conversation.")
class Message:
    model: strawberry.Private[models.Message]
    loaders: strawberry.Private[Loaders]

    @strawberry.field(description="Opaque message id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.model.id))

    @strawberry.field(description="INBOUND from the customer or OUTBOUND from a member.")
    def direction(self) -> MessageDirection:
        return self.model.direction

    @strawberry.field(description="The text.")
    def body(self) -> str:
        return self.model.body

    @strawberry.field(description="The member who sent it (null for inbound messages).")
    async def author(self) -> User | None:
        return user_or_none(await self.loaders.user_or_none(self.model.author_id))

    @strawberry.field(description="When it was sent or received.")
    def created_at(self) -> datetime:
        return self.model.created_at

    @strawberry.field(description="The conversation it belongs to.")
    async def conversation(self) -> Conversation:
        return Conversation(model=await self.loaders.conversation.load(self.model.conversation_id), loaders=self.loaders)


@strawberry.type(description="A change of owner: 'Assigned to Bob by Alice'.")
class AssignmentEvent:
    model: strawberry.Private[models.AssignmentEvent]
    loaders: strawberry.Private[Loaders]

    @strawberry.field(description="Opaque id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.model.id))

    @strawberry.field(description="Who made the change.")
    async def actor(self) -> User | None:
        return user_or_none(await self.loaders.user_or_none(self.model.actor_id))

    @strawberry.field(description="The new assignee (null: unassigned).")
    async def assignee(self) -> User | None:
        return user_or_none(await self.loaders.user_or_none(self.model.assignee_id))

    @strawberry.field(description="The assignee before the change (null: was unassigned).")
    async def previous_assignee(self) -> User | None:
        return user_or_none(await self.loaders.user_or_none(self.model.previous_assignee_id))

    @strawberry.field(description="Optional note left with the change.")
    def note(self) -> str | None:
        return self.model.note or None

    @strawberry.field(description="When it happened.")
    def created_at(self) -> datetime:
        return self.model.created_at


@strawberry.type(description="The conversation was closed or reopened.")
class StatusChange:
    model: strawberry.Private[models.StatusEvent]
    loaders: strawberry.Private[Loaders]

    @strawberry.field(description="Opaque id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.model.id))

    @strawberry.field(description="The new status.")
    def status(self) -> ConversationStatus:
        return self.model.status

    @strawberry.field(description="Who changed it (null: reopened by the customer writing in).")
    async def actor(self) -> User | None:
        return user_or_none(await self.loaders.user_or_none(self.model.actor_id))

    @strawberry.field(description="When it happened.")
    def created_at(self) -> datetime:
        return self.model.created_at


TimelineItem = Annotated[
    Message | AssignmentEvent | StatusChange,
    strawberry.union("TimelineItem", description="One entry of a conversation's thread."),
]
_ITEM_TYPES = {models.Message: Message, models.AssignmentEvent: AssignmentEvent, models.StatusEvent: StatusChange}


@strawberry.type(description="An entry of the timeline and its cursor.")
class TimelineEdge:
    cursor: str = strawberry.field(description="Pass as `after` to continue after this entry.")
    node: TimelineItem = strawberry.field(description="The message or event.")


@strawberry.type(description="A page of a conversation's thread, oldest first.")
class TimelineConnection:
    edges: list[TimelineEdge] = strawberry.field(description="The entries of this page.")
    page_info: PageInfo = strawberry.field(description="Whether more entries follow.")


def _timeline_cursor(item) -> str:
    cursor = timeline_resolvers.cursor_of(item)
    return encode_cursor(cursor.created_at, cursor.kind, cursor.id)


@strawberry.type(description="A customer's SMS thread with the team.")
class Conversation:
    model: strawberry.Private[models.Conversation]
    loaders: strawberry.Private[Loaders]

    @strawberry.field(description="Opaque conversation id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.model.id))

    @strawberry.field(description="OPEN or CLOSED.")
    def status(self) -> ConversationStatus:
        return self.model.status

    @strawberry.field(description="When a message was last sent or received: the inbox's order.")
    def last_activity_at(self) -> datetime:
        return self.model.last_activity_at

    @strawberry.field(description="Increases with every change of assignee or status.")
    def version(self) -> int:
        return self.model.version

    @strawberry.field(description="The customer.")
    async def contact(self) -> Contact:
        return Contact(model=await self.loaders.contact.load(self.model.contact_id))

    @strawberry.field(description="Who owns the conversation (null: unassigned).")
    async def assignee(self) -> User | None:
        return user_or_none(await self.loaders.user_or_none(self.model.assignee_id))

    @strawberry.field(description="The newest message, for the inbox row's preview.")
    async def last_message(self) -> Message | None:
        if self.model.last_message_id is None:
            return None
        message = await self.loaders.message.load(self.model.last_message_id)
        return None if message is None else Message(model=message, loaders=self.loaders)

    @strawberry.field(description="Every change of owner, oldest first.")
    async def assignment_history(self) -> list[AssignmentEvent]:
        history = await timeline_resolvers.assignment_history(self.model)
        return [AssignmentEvent(model=row, loaders=self.loaders) for row in history]

    @strawberry.field(description="Members typing in this conversation right now (live state, not stored).")
    async def typing_users(self) -> list[User]:
        ids = await typing_user_ids(self.model.id)
        users = await self.loaders.user.load_many(ids)
        return [User(model=user) for user in users if user is not None]

    @strawberry.field(description="Messages, assignment and status changes interleaved in time order, oldest first.")
    async def timeline(self, info: Info, first: int | None = None, after: str | None = None) -> TimelineConnection:
        async def load() -> TimelineConnection:
            size = info.context.limits.page_size(first)
            cursor = TimelineCursor(*decode_cursor(after, (datetime, int, int))) if after else None
            items = await timeline_resolvers.timeline(self.model, first=size, after=cursor)
            page = items[:size]
            edges = [
                TimelineEdge(cursor=_timeline_cursor(item), node=_ITEM_TYPES[type(item)](model=item, loaders=self.loaders))
                for item in page
            ]
            return TimelineConnection(
                edges=edges, page_info=PageInfo(has_next_page=len(items) > size, end_cursor=edges[-1].cursor if edges else after)
            )

        return await run_query(load)
