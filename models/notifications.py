"""Per-member notifications and the durable event log.

Each foreign key `x` is declared with its relation type and beside it `x_id`, the column
Tortoise adds, so the type checker knows both (Tortoise sets `x_id` on every instance)."""
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

from models.enums import NotificationKind

if TYPE_CHECKING:
    from models.accounts import Account, User
    from models.inbox import Conversation, Message


class Notification(Model):
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name="notifications", on_delete=fields.CASCADE
    )
    user_id: int
    kind = fields.CharEnumField(NotificationKind, max_length=20)
    conversation: fields.ForeignKeyRelation["Conversation"] = fields.ForeignKeyField(
        "models.Conversation", related_name=False, on_delete=fields.CASCADE
    )
    conversation_id: int
    message: fields.ForeignKeyNullableRelation["Message"] = fields.ForeignKeyField(
        "models.Message", related_name=False, null=True, on_delete=fields.CASCADE
    )
    message_id: int | None
    actor: fields.ForeignKeyNullableRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    actor_id: int | None
    created_at = fields.DatetimeField()
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notification"
        indexes = (("user_id", "read_at", "id"),)


class Event(Model):
    """The transactional outbox: written with the change it describes, seq orders
    everything an account's clients may replay (the bus only rings the doorbell)."""

    # Annotated: Tortoise's BigIntField subclasses IntField without its type parameter, so
    # the value would read as Any.
    seq: fields.IntField[int] = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation["Account"] = fields.ForeignKeyField(
        "models.Account", related_name=False, on_delete=fields.CASCADE
    )
    account_id: int
    kind = fields.CharField(max_length=50)
    # Plain ids (no foreign keys) so the log outlives what it describes; they pick
    # the rows a resuming subscription replays: inbox (account), thread, member.
    conversation_id = fields.IntField(null=True)
    user_id = fields.IntField(null=True)
    # The event's JSON object, as BusEvent.payload carries it (subscriptions/events.py).
    payload: fields.JSONField[dict[str, Any]] = fields.JSONField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "event"
        indexes = (("account_id", "seq"), ("conversation_id", "seq"), ("user_id", "seq"))
