"""Mutation payloads: the changed object (null on failure) and `userErrors`."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry

from resolvers.errors import DomainError
from schema.conversations import Conversation, Message
from schema.errors import UserError, user_error
from schema.members import Account, User

T = TypeVar("T")

ERRORS_DESCRIPTION = "Expected failures (empty on success)."


async def attempt(action: Callable[[], Awaitable[T]]) -> tuple[T | None, list[UserError]]:
    """Run a resolver; a DomainError becomes userErrors instead of a top-level error."""
    try:
        return await action(), []
    except DomainError as error:
        return None, [user_error(error)]


@strawberry.type(description="Result of login.")
class LoginPayload:
    token: str | None = strawberry.field(description="Bearer token: send as `Authorization: Bearer <token>`.")
    user: User | None = strawberry.field(description="The member who logged in.")
    user_errors: list[UserError] = strawberry.field(description=ERRORS_DESCRIPTION)


@strawberry.type(description="Result of logout.")
class LogoutPayload:
    revoked: bool = strawberry.field(description="Whether the token was revoked.")
    user_errors: list[UserError] = strawberry.field(description=ERRORS_DESCRIPTION)


@strawberry.type(description="Result of creating or updating a member.")
class UserPayload:
    user: User | None = strawberry.field(description="The member, as saved.")
    user_errors: list[UserError] = strawberry.field(description=ERRORS_DESCRIPTION)


@strawberry.type(description="Result of changing the account's plan or webhook secret.")
class AccountPayload:
    account: Account | None = strawberry.field(description="The account, as saved.")
    user_errors: list[UserError] = strawberry.field(description=ERRORS_DESCRIPTION)


@strawberry.type(description="Result of assigning, or of changing a conversation's status.")
class ConversationPayload:
    conversation: Conversation | None = strawberry.field(
        description="The conversation as saved; after ASSIGNMENT_CONFLICT, as it is now (with its current assignee)."
    )
    user_errors: list[UserError] = strawberry.field(description=ERRORS_DESCRIPTION)


@strawberry.type(description="Result of sending a message.")
class SendMessagePayload:
    message: Message | None = strawberry.field(description="The stored outbound message.")
    user_errors: list[UserError] = strawberry.field(description=ERRORS_DESCRIPTION)


@strawberry.type(description="Result of marking notifications read.")
class MarkNotificationsReadPayload:
    marked: int = strawberry.field(description="How many notifications changed from unread to read.")
    unread_count: int = strawberry.field(description="The viewer's unread notifications now.")
    user_errors: list[UserError] = strawberry.field(description=ERRORS_DESCRIPTION)


@strawberry.type(description="Result of a typing signal.")
class SetTypingPayload:
    accepted: bool = strawberry.field(description="Whether the signal was taken.")
    user_errors: list[UserError] = strawberry.field(description=ERRORS_DESCRIPTION)


