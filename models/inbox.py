"""Contacts, their conversations, and everything that happens in a conversation.

Each foreign key `x` is declared with its relation type and beside it `x_id`, the column
Tortoise adds, so the type checker knows both (Tortoise sets `x_id` on every instance)."""
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.enums import ConversationStatus, DeliveryStatus, MessageDirection

if TYPE_CHECKING:
    from models.accounts import Account, User


class Contact(Model):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation["Account"] = fields.ForeignKeyField(
        "models.Account", related_name="contacts", on_delete=fields.CASCADE
    )
    account_id: int
    phone = fields.CharField(max_length=20, description="E.164")
    name = fields.CharField(max_length=200, default="")
    # The customer replied STOP (or the provider said they had): no reply is sent until START.
    opted_out = fields.BooleanField(default=False)
    opted_out_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "contact"
        unique_together = (("account_id", "phone"),)


class Conversation(Model):
    """One SMS thread per contact: a closed thread is reopened when the customer
    writes again (unique contact), so a contact never has two open conversations."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation["Account"] = fields.ForeignKeyField(
        "models.Account", related_name="conversations", on_delete=fields.CASCADE
    )
    account_id: int
    contact: fields.ForeignKeyRelation["Contact"] = fields.ForeignKeyField(
        "models.Contact", related_name="conversations", on_delete=fields.CASCADE, unique=True
    )
    contact_id: int
    status = fields.CharEnumField(ConversationStatus, max_length=10, default=ConversationStatus.OPEN)
    assignee: fields.ForeignKeyNullableRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name="assigned_conversations", null=True, on_delete=fields.SET_NULL
    )
    assignee_id: int | None
    last_activity_at = fields.DatetimeField()
    # Bumped by every change of assignee or status: lets clients and caches tell versions apart.
    version = fields.IntField(default=1)
    # The newest message by (created_at, id), kept with last_activity_at: the inbox shows
    # it as the preview, and reading it by key keeps the page one indexed join.
    last_message: fields.ForeignKeyNullableRelation["Message"] = fields.ForeignKeyField(
        "models.Message", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    last_message_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "conversation"
        # The inbox read path: tab (status) + assignee scope, newest activity first.
        indexes = (("account_id", "status", "assignee_id", "last_activity_at", "id"),
                   ("account_id", "status", "last_activity_at", "id"),
                   # Deleting a message (a cascade) looks up the conversation that shows it.
                   ("last_message_id",))


class Message(Model):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation["Account"] = fields.ForeignKeyField(
        "models.Account", related_name="messages", on_delete=fields.CASCADE
    )
    account_id: int
    conversation: fields.ForeignKeyRelation["Conversation"] = fields.ForeignKeyField(
        "models.Conversation", related_name="messages", on_delete=fields.CASCADE
    )
    conversation_id: int
    direction = fields.CharEnumField(MessageDirection, max_length=10)
    body = fields.TextField()
    author: fields.ForeignKeyNullableRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    author_id: int | None
    # The messaging provider's id for inbound messages: makes webhook retries idempotent.
    external_id = fields.CharField(max_length=200, null=True)
    created_at = fields.DatetimeField()
    # Outbound only: where the reply is on its way to the customer (null for inbound).
    delivery_status: DeliveryStatus | None = fields.CharEnumField(  # type: ignore[assignment]  # no null overload
        DeliveryStatus, max_length=10, null=True
    )
    delivery_error_code = fields.CharField(max_length=50, null=True)
    delivery_error_message = fields.CharField(max_length=500, null=True)
    delivery_updated_at = fields.DatetimeField(null=True)
    # The provider's id for an outbound message, from its answer: delivery reports carry it.
    provider_message_id = fields.CharField(max_length=200, null=True)
    # The sending client's own id for the reply: a retried sendMessage finds the message
    # it already made instead of sending twice.
    client_message_id = fields.CharField(max_length=100, null=True)

    class Meta:
        table = "message"
        unique_together = (("account_id", "external_id"), ("conversation_id", "client_message_id"))
        indexes = (("conversation_id", "created_at", "id"), ("account_id", "provider_message_id"))


class AssignmentEvent(Model):
    id = fields.IntField(primary_key=True)
    conversation: fields.ForeignKeyRelation["Conversation"] = fields.ForeignKeyField(
        "models.Conversation", related_name="assignment_events", on_delete=fields.CASCADE
    )
    conversation_id: int
    actor: fields.ForeignKeyNullableRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    actor_id: int | None
    assignee: fields.ForeignKeyNullableRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    assignee_id: int | None
    previous_assignee: fields.ForeignKeyNullableRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    previous_assignee_id: int | None
    note = fields.CharField(max_length=1000, default="")
    created_at = fields.DatetimeField()

    class Meta:
        table = "assignment_event"
        indexes = (("conversation_id", "created_at", "id"),)


class StatusEvent(Model):
    """A conversation closed or reopened (actor is null when a customer's message reopened it)."""

    id = fields.IntField(primary_key=True)
    conversation: fields.ForeignKeyRelation["Conversation"] = fields.ForeignKeyField(
        "models.Conversation", related_name="status_events", on_delete=fields.CASCADE
    )
    conversation_id: int
    actor: fields.ForeignKeyNullableRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    actor_id: int | None
    status = fields.CharEnumField(ConversationStatus, max_length=10)
    created_at = fields.DatetimeField()

    class Meta:
        table = "status_event"
        indexes = (("conversation_id", "created_at", "id"),)


class InboxCount(Model):
    """How many conversations one assignee holds under one status (assignee_key 0 means
    unassigned). Every write that moves a conversation adjusts it in its own transaction
    (resolvers/counts.py), so the numbers beside the inbox tabs are read, never counted."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation["Account"] = fields.ForeignKeyField(
        "models.Account", related_name=False, on_delete=fields.CASCADE
    )
    account_id: int
    status = fields.CharEnumField(ConversationStatus, max_length=10)
    assignee_key = fields.IntField(description="The member id, or 0 for unassigned")
    count = fields.IntField(default=0)

    class Meta:
        table = "inbox_count"
        unique_together = (("account_id", "status", "assignee_key"),)
