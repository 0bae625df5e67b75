"""Mutation payloads: the changed object (null on failure) and `userErrors`.

Every payload runs its resolver through `MutationPayload.run`, the one place where a
DomainError becomes `userErrors` (Saleor's BaseMutation does the same for its API)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Self, TypeVar

import strawberry

from resolvers import notifications
from resolvers.assignment import AssignmentConflict
from resolvers.errors import DomainError
from schema.context import Info
from schema.conversations import Conversation, Message
from schema.errors import UserError
from schema.members import Account, User

T = TypeVar("T")


def user_errors_field() -> list[UserError]:
    """Every payload's `userErrors`: empty unless `MutationPayload.failed` fills it."""
    errors: list[UserError] = strawberry.field(
        default_factory=list, description="Expected failures (empty on success)."
    )
    return errors


class MutationPayload:
    """Runs a resolver and renders its result as the payload; an expected failure
    renders as `userErrors` beside the payload's defaults (`failed` may show more)."""

    if TYPE_CHECKING:  # every payload is a Strawberry dataclass whose other fields have defaults
        def __init__(self, *, user_errors: list[UserError]) -> None: ...

    @classmethod
    async def run(cls, info: Info, action: Callable[[], Awaitable[T]], render: Callable[[T], Self]) -> Self:
        try:
            result = await action()
        except DomainError as error:
            return await cls.failed(info, error)
        return render(result)

    @classmethod
    async def failed(cls, info: Info, error: DomainError) -> Self:
        return cls(user_errors=[UserError.from_error(error)])


@strawberry.type(description="Result of login.")
class LoginPayload(MutationPayload):
    token: str | None = strawberry.field(
        default=None, description="Bearer token: send as `Authorization: Bearer <token>`."
    )
    user: User | None = strawberry.field(default=None, description="The member who logged in.")
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of logout.")
class LogoutPayload(MutationPayload):
    revoked: bool = strawberry.field(default=False, description="Whether the token was revoked.")
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of creating or updating a member.")
class UserPayload(MutationPayload):
    user: User | None = strawberry.field(default=None, description="The member, as saved.")
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of changing the account's plan or webhook secret.")
class AccountPayload(MutationPayload):
    account: Account | None = strawberry.field(default=None, description="The account, as saved.")
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of assigning, or of changing a conversation's status.")
class ConversationPayload(MutationPayload):
    conversation: Conversation | None = strawberry.field(
        default=None,
        description="The conversation as saved; after ASSIGNMENT_CONFLICT, as it is now (with its current assignee).",
    )
    user_errors: list[UserError] = user_errors_field()

    @classmethod
    async def failed(cls, info: Info, error: DomainError) -> Self:
        if not isinstance(error, AssignmentConflict):
            return await super().failed(info, error)
        current = error.current
        return cls(
            conversation=Conversation.from_assignment(current.conversation, current.assignee, info.context.loaders),
            user_errors=[UserError.from_error(error)],
        )


@strawberry.type(description="Result of sending a message.")
class SendMessagePayload(MutationPayload):
    message: Message | None = strawberry.field(default=None, description="The stored outbound message.")
    user_errors: list[UserError] = user_errors_field()


@strawberry.type(description="Result of marking notifications read.")
class MarkNotificationsReadPayload(MutationPayload):
    marked: int = strawberry.field(default=0, description="How many notifications changed from unread to read.")
    unread_count: int = strawberry.field(default=0, description="The viewer's unread notifications now.")
    user_errors: list[UserError] = user_errors_field()

    @classmethod
    async def failed(cls, info: Info, error: DomainError) -> Self:
        viewer = info.context.viewer
        unread = await notifications.count_notifications(viewer, unread_only=True) if viewer else 0
        return cls(unread_count=unread, user_errors=[UserError.from_error(error)])


@strawberry.type(description="Result of a typing signal.")
class SetTypingPayload(MutationPayload):
    accepted: bool = strawberry.field(default=False, description="Whether the signal was taken.")
    user_errors: list[UserError] = user_errors_field()
