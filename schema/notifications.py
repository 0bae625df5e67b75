"""A member's notifications."""
from __future__ import annotations

from datetime import datetime

import strawberry

import models
from schema.conversations import Conversation, Message
from schema.enums import NotificationKind
from schema.loaders import Loaders
from schema.members import User, user_or_none
from schema.pagination import PageInfo, encode_cursor


@strawberry.type(description="Something a member should know about one of their conversations.")
class Notification:
    model: strawberry.Private[models.Notification]
    loaders: strawberry.Private[Loaders]
    seq: strawberry.Private[int | None] = None

    @strawberry.field(description="Opaque id (pass to markNotificationsRead).")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.model.id))

    @strawberry.field(
        description="On `notificationAdded` only: pass as `after` when subscribing again to resume after this one."
    )
    def cursor(self) -> str | None:
        return None if self.seq is None else encode_cursor(self.seq)

    @strawberry.field(description="ASSIGNED or NEW_MESSAGE.")
    def kind(self) -> NotificationKind:
        return self.model.kind

    @strawberry.field(description="The conversation concerned.")
    async def conversation(self) -> Conversation:
        return Conversation(model=await self.loaders.conversation.load(self.model.conversation_id), loaders=self.loaders)

    @strawberry.field(description="The new message (NEW_MESSAGE only).")
    async def message(self) -> Message | None:
        if self.model.message_id is None:
            return None
        return Message(model=await self.loaders.message.load(self.model.message_id), loaders=self.loaders)

    @strawberry.field(description="Who caused it (the assigning member; null for customer messages).")
    async def actor(self) -> User | None:
        return user_or_none(await self.loaders.user_or_none(self.model.actor_id))

    @strawberry.field(description="When it was created.")
    def created_at(self) -> datetime:
        return self.model.created_at

    @strawberry.field(description="When the member marked it read (null: unread).")
    def read_at(self) -> datetime | None:
        return self.model.read_at


@strawberry.type(description="A notification and its cursor.")
class NotificationEdge:
    cursor: str = strawberry.field(description="Pass as `after` to continue after this one.")
    node: Notification = strawberry.field(description="The notification.")


@strawberry.type(description="The viewer's notifications, newest first.")
class NotificationConnection:
    edges: list[NotificationEdge] = strawberry.field(description="This page.")
    page_info: PageInfo = strawberry.field(description="Whether more follow.")
    total_count: int = strawberry.field(description="How many match the filter.")
    unread_count: int = strawberry.field(description="How many of the viewer's notifications are unread.")
