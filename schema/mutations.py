"""The root Mutation: each field a thin call into resolvers/, failures as userErrors."""
from __future__ import annotations

import strawberry
from strawberry import UNSET

import models
from resolvers import (
    accounts,
    assignment,
    auth,
    channels,
    conversations,
    delivery,
    members,
    messages,
    notifications,
    typing_indicator,
)
from resolvers.assignment import ExpectedAssignee
from resolvers.viewer import Viewer as ViewerModel
from resolvers.viewer import require_viewer
from schema.channels import MessagingChannelInput
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


def _viewer(info: Info) -> ViewerModel:
    return require_viewer(info.context.viewer)


@strawberry.type(description="Every change to the inbox.")
class Mutation:
    @strawberry.mutation(description="Exchange email and password for a bearer token.")
    async def login(self, info: Info, email: str, password: str) -> LoginPayload:
        return await LoginPayload.run(
            info,
            lambda: auth.login(
                email, password, ttl=info.context.limits.session_ttl, address=info.context.client_address
            ),
            lambda result: LoginPayload(token=result[0], user=User.from_model(result[1])),
        )

    @strawberry.mutation(
        description="Revoke the token this request was made with; with `allSessions`, every session of the member "
        "(every device), ending their open subscriptions too."
    )
    async def logout(self, info: Info, all_sessions: bool = False) -> LogoutPayload:
        return await LogoutPayload.run(
            info, lambda: auth.logout(_viewer(info), all_sessions=all_sessions), lambda _: LogoutPayload(revoked=True)
        )

    @strawberry.mutation(description="Add a member to the team (admins).")
    async def create_user(self, info: Info, input: CreateUserInput) -> UserPayload:
        return await UserPayload.run(
            info,
            lambda: members.create_user(
                _viewer(info), email=input.email, name=input.name, role=input.role, password=input.password
            ),
            lambda user: UserPayload(user=User.from_model(user)),
        )

    @strawberry.mutation(description="Rename, change the role of, deactivate or reactivate a member (admins).")
    async def update_user(self, info: Info, user_id: strawberry.ID, input: UpdateUserInput) -> UserPayload:
        return await UserPayload.run(
            info,
            lambda: members.update_user(_viewer(info), user_id, name=input.name, role=input.role, active=input.active),
            lambda user: UserPayload(user=User.from_model(user)),
        )

    @strawberry.mutation(description="Change the account's plan (admins).")
    async def set_account_plan(self, info: Info, plan: Plan) -> AccountPayload:
        return await AccountPayload.run(
            info, lambda: accounts.set_plan(_viewer(info), plan),
            lambda account: AccountPayload(account=Account.from_model(account, is_admin=True)),
        )

    @strawberry.mutation(
        description="Connect the account to an SMS provider, or change it (admins): replies are sent through it "
        "from then on. The credentials are stored sealed and never shown again; `account.messagingChannel` shows "
        "the URLs to give the provider."
    )
    async def set_messaging_channel(self, info: Info, input: MessagingChannelInput) -> AccountPayload:
        async def connect() -> models.Account:
            viewer = _viewer(info)
            await channels.set_channel(viewer, input.to_domain())
            return viewer.account

        return await AccountPayload.run(
            info, connect, lambda account: AccountPayload(account=Account.from_model(account, is_admin=True))
        )

    @strawberry.mutation(description="Replace the secret that signs inbound webhooks (admins).")
    async def rotate_webhook_secret(self, info: Info) -> AccountPayload:
        return await AccountPayload.run(
            info, lambda: accounts.rotate_webhook_secret(_viewer(info)),
            lambda account: AccountPayload(account=Account.from_model(account, is_admin=True)),
        )

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
        expected = None if expected_assignee_id is UNSET else ExpectedAssignee(expected_assignee_id)
        loaders = info.context.loaders
        return await ConversationPayload.run(
            info,
            lambda: assignment.assign_conversation(
                _viewer(info), conversation_id, assignee_id, note=note, expected=expected
            ),
            lambda assigned: ConversationPayload(
                conversation=Conversation.from_assignment(assigned.conversation, assigned.assignee, loaders)
            ),
        )

    @strawberry.mutation(description="Close or reopen a conversation.")
    async def set_conversation_status(
        self, info: Info, conversation_id: strawberry.ID, status: ConversationStatus
    ) -> ConversationPayload:
        return await ConversationPayload.run(
            info, lambda: conversations.set_conversation_status(_viewer(info), conversation_id, status),
            lambda conversation: ConversationPayload(
                conversation=Conversation.from_model(conversation, info.context.loaders)
            ),
        )

    @strawberry.mutation(
        description="Send an SMS to the conversation's contact, attributed to the viewer: stored PENDING and "
        "returned at once, then sent through the account's provider (`Message.delivery`). With `clientMessageId` "
        "(the client's own id for this reply), repeating the call returns the same message instead of sending twice."
    )
    async def send_message(
        self, info: Info, conversation_id: strawberry.ID, body: str, client_message_id: str | None = None
    ) -> SendMessagePayload:
        return await SendMessagePayload.run(
            info, lambda: messages.send_message(_viewer(info), conversation_id, body, client_message_id),
            lambda message: SendMessagePayload(message=Message.from_model(message, info.context.loaders)),
        )

    @strawberry.mutation(
        description="Send a FAILED reply again (refused for other statuses, after 24 hours, or while the customer "
        "is opted out)."
    )
    async def retry_message(self, info: Info, message_id: strawberry.ID) -> SendMessagePayload:
        return await SendMessagePayload.run(
            info, lambda: delivery.retry_message(_viewer(info), message_id),
            lambda message: SendMessagePayload(message=Message.from_model(message, info.context.loaders)),
        )

    @strawberry.mutation(description="Mark some (`ids`) or all (`all: true`) of the viewer's notifications read.")
    async def mark_notifications_read(
        self, info: Info, ids: list[strawberry.ID] | None = None, all: bool = False
    ) -> MarkNotificationsReadPayload:
        async def mark() -> tuple[int, int]:
            viewer = _viewer(info)
            marked = await notifications.mark_read(viewer, ids=None if ids is None else [str(i) for i in ids], all_=all)
            return marked, await notifications.count_notifications(viewer, unread_only=True)

        return await MarkNotificationsReadPayload.run(
            info, mark, lambda counts: MarkNotificationsReadPayload(marked=counts[0], unread_count=counts[1])
        )

    @strawberry.mutation(
        description="Say the viewer is (or stopped) typing in a conversation. Repeat `true` every few seconds "
        "while typing: the indicator expires on its own after the server's TTL."
    )
    async def set_typing(self, info: Info, conversation_id: strawberry.ID, is_typing: bool) -> SetTypingPayload:
        return await SetTypingPayload.run(
            info, lambda: typing_indicator.set_typing(_viewer(info), conversation_id, is_typing),
            lambda _: SetTypingPayload(accepted=True),
        )
