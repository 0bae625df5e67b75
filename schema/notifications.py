"""A member's notifications."""
from __future__ import annotations

from datetime import datetime

import strawberry

import models
from schema.conversations import Conversation, Message
from schema.enums import NotificationKind
from schema.loaders import Loaders, existing
from schema.members import User, user_or_none
from schema.pagination import PageInfo, encode_cursor


@strawberry.type(description="Something a member should know about one of their conversations.")
class Notification:
    id: strawberry.ID = strawberry.field(description="Opaque id (pass to markNotificationsRead).")
    cursor: str | None = strawberry.field(
        description="On `notificationAdded` only: pass as `after` when subscribing again to resume after this one."
    )
    kind: NotificationKind = strawberry.field(description="ASSIGNED or NEW_MESSAGE.")
    created_at: datetime = strawberry.field(description="When it was created.")
    read_at: datetime | None = strawberry.field(description="When the member marked it read (null: unread).")
    conversation_id: strawberry.Private[int]
    message_id: strawberry.Private[int | None]
    actor_id: strawberry.Private[int | None]
    loaders: strawberry.Private[Loaders]

    @classmethod
    def from_model(cls, notification: models.Notification, loaders: Loaders, *, seq: int | None = None) -> Notification:
        """`seq`: the event that announced it, on `notificationAdded` (its cursor)."""
        return cls(
            id=strawberry.ID(str(notification.id)), cursor=None if seq is None else encode_cursor(seq),
            kind=notification.kind, created_at=notification.created_at, read_at=notification.read_at,
            conversation_id=notification.conversation_id, message_id=notification.message_id,
            actor_id=notification.actor_id, loaders=loaders,
        )

    @strawberry.field(description="The conversation concerned.")
    async def conversation(self) -> Conversation:
        return await Conversation.load(self.conversation_id, self.loaders)

    @strawberry.field(description="The new message (NEW_MESSAGE only).")
    async def message(self) -> Message | None:
        if self.message_id is None:
            return None
        return Message.from_model(await existing(self.loaders.message, self.message_id), self.loaders)

    @strawberry.field(description="Who caused it (the assigning member; null for customer messages).")
    async def actor(self) -> User | None:
        return user_or_none(await self.loaders.user_or_none(self.actor_id))


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
