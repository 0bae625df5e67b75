"""The root Mutation: each field a thin call into resolvers/, failures as userErrors."""
from __future__ import annotations

import strawberry
from strawberry import UNSET

from resolvers import accounts, assignment, auth, conversations, members, messages, notifications, typing_indicator
from resolvers.assignment import NO_EXPECTATION
from resolvers.conversations import get_conversation
from resolvers.errors import ErrorCode
from resolvers.viewer import require_viewer
from schema.context import Info
from schema.conversations import Conversation, Message
from schema.enums import ConversationStatus, Plan, Role
from schema.members import Account, User
from schema.payloads import (
    AccountPayload,
    ConversationPayload,
    LoginPayload,
    LogoutPayload,
    MarkNotificationsReadPayload,
    SendMessagePayload,
    SetTypingPayload,
    UserPayload,
    attempt,
)


@strawberry.input(description="A new member.")
class CreateUserInput:
    email: str = strawberry.field(description="Login email (unique).")
    name: str = strawberry.field(description="Display name; initials derive from it.")
    role: Role = strawberry.field(description="ADMIN, AGENT or ANALYST.")
    password: str = strawberry.field(description="At least 8 characters; stored as an argon2 hash.")


@strawberry.input(description="Changes to a member; omitted fields stay as they are.")
class UpdateUserInput:
    name: str | None = strawberry.field(default=None, description="New display name.")
    role: Role | None = strawberry.field(default=None, description="New role.")
    active: bool | None = strawberry.field(
        default=None, description="false deactivates: tokens stop working and their conversations are unassigned."
    )


@strawberry.type(description="Every change to the inbox.")
class Mutation:
    @strawberry.mutation(description="Exchange email and password for a bearer token.")
    async def login(self, info: Info, email: str, password: str) -> LoginPayload:
        result, errors = await attempt(lambda: auth.login(email, password, ttl=info.context.limits.session_ttl))
        token, user = result or (None, None)
        return LoginPayload(token=token, user=User(model=user) if user else None, user_errors=errors)

    @strawberry.mutation(description="Revoke the token this request was made with.")
    async def logout(self, info: Info) -> LogoutPayload:
        _, errors = await attempt(lambda: auth.logout(require_viewer(info.context.viewer)))
        return LogoutPayload(revoked=not errors, user_errors=errors)

    @strawberry.mutation(description="Add a member to the team (admins).")
    async def create_user(self, info: Info, input: CreateUserInput) -> UserPayload:
        user, errors = await attempt(lambda: members.create_user(
            require_viewer(info.context.viewer), email=input.email, name=input.name, role=input.role,
            password=input.password))
        return UserPayload(user=User(model=user) if user else None, user_errors=errors)

    @strawberry.mutation(description="Rename, change the role of, deactivate or reactivate a member (admins).")
    async def update_user(self, info: Info, user_id: strawberry.ID, input: UpdateUserInput) -> UserPayload:
        user, errors = await attempt(lambda: members.update_user(
            require_viewer(info.context.viewer), user_id, name=input.name, role=input.role, active=input.active))
        return UserPayload(user=User(model=user) if user else None, user_errors=errors)

    @strawberry.mutation(description="Change the account's plan (admins).")
    async def set_account_plan(self, info: Info, plan: Plan) -> AccountPayload:
        account, errors = await attempt(lambda: accounts.set_plan(require_viewer(info.context.viewer), plan))
        return AccountPayload(account=Account(model=account, is_admin=True) if account else None, user_errors=errors)

    @strawberry.mutation(description="Replace the secret that signs inbound webhooks (admins).")
    async def rotate_webhook_secret(self, info: Info) -> AccountPayload:
        account, errors = await attempt(lambda: accounts.rotate_webhook_secret(require_viewer(info.context.viewer)))
        return AccountPayload(account=Account(model=account, is_admin=True) if account else None, user_errors=errors)

    @strawberry.mutation(
        description="Assign a conversation to a member, reassign it, or unassign it (`assigneeId: null`). "
        "With `expectedAssigneeId` (an id, or null for 'unassigned') it only succeeds if the conversation is "
        "still held by that assignee; otherwise it fails with ASSIGNMENT_CONFLICT and returns the conversation "
        "as it is now."
    )
    async def assign_conversation(
        self,
        info: Info,
        conversation_id: strawberry.ID,
        assignee_id: strawberry.ID | None = None,
        note: str | None = None,
        expected_assignee_id: strawberry.ID | None = UNSET,
    ) -> ConversationPayload:
        viewer = info.context.viewer
        expected = NO_EXPECTATION if expected_assignee_id is UNSET else expected_assignee_id
        assigned, errors = await attempt(lambda: assignment.assign_conversation(
            require_viewer(viewer), conversation_id, assignee_id, note=note, expected_assignee_id=expected))
        conversation = assigned.conversation if assigned else None
        if assigned and assigned.assignee:
            info.context.loaders.user.prime(assigned.assignee.id, assigned.assignee)  # the payload shows them
        if errors and errors[0].code == ErrorCode.ASSIGNMENT_CONFLICT:
            conversation = await get_conversation(viewer, conversation_id)
        return ConversationPayload(
            conversation=Conversation(model=conversation, loaders=info.context.loaders) if conversation else None,
            user_errors=errors,
        )

    @strawberry.mutation(description="Close or reopen a conversation.")
    async def set_conversation_status(
        self, info: Info, conversation_id: strawberry.ID, status: ConversationStatus
    ) -> ConversationPayload:
        conversation, errors = await attempt(lambda: conversations.set_conversation_status(
            require_viewer(info.context.viewer), conversation_id, status))
        return ConversationPayload(
            conversation=Conversation(model=conversation, loaders=info.context.loaders) if conversation else None,
            user_errors=errors,
        )

    @strawberry.mutation(description="Send an SMS to the conversation's contact, attributed to the viewer.")
    async def send_message(self, info: Info, conversation_id: strawberry.ID, body: str) -> SendMessagePayload:
        message, errors = await attempt(lambda: messages.send_message(
            require_viewer(info.context.viewer), conversation_id, body))
        return SendMessagePayload(
            message=Message(model=message, loaders=info.context.loaders) if message else None, user_errors=errors
        )

    @strawberry.mutation(description="Mark some (`ids`) or all (`all: true`) of the viewer's notifications read.")
    async def mark_notifications_read(
        self, info: Info, ids: list[strawberry.ID] | None = None, all: bool = False
    ) -> MarkNotificationsReadPayload:
        viewer = info.context.viewer
        marked, errors = await attempt(lambda: notifications.mark_read(require_viewer(viewer), ids=ids, all_=all))
        unread = await notifications.count_notifications(viewer, unread_only=True) if viewer else 0
        return MarkNotificationsReadPayload(marked=marked or 0, unread_count=unread, user_errors=errors)

    @strawberry.mutation(
        description="Say the viewer is (or stopped) typing in a conversation. Repeat `true` every few seconds "
        "while typing: the indicator expires on its own after the server's TTL."
    )
    async def set_typing(self, info: Info, conversation_id: strawberry.ID, is_typing: bool) -> SetTypingPayload:
        _, errors = await attempt(lambda: typing_indicator.set_typing(require_viewer(info.context.viewer), conversation_id, is_typing))
        return SetTypingPayload(accepted=not errors, user_errors=errors)


