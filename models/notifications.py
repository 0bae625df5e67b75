"""Per-member notifications and the durable event log."""
from tortoise import fields
from tortoise.models import Model

from models.enums import NotificationKind


class Notification(Model):
    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="notifications", on_delete=fields.CASCADE)
    kind = fields.CharEnumField(NotificationKind, max_length=20)
    conversation = fields.ForeignKeyField("models.Conversation", related_name=False, on_delete=fields.CASCADE)
    message = fields.ForeignKeyField("models.Message", related_name=False, null=True, on_delete=fields.CASCADE)
    actor = fields.ForeignKeyField("models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField()
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notification"
        indexes = (("user_id", "read_at", "id"),)


class Event(Model):
    """The transactional outbox: written with the change it describes, seq orders
    everything an account's clients may replay (the bus only rings the doorbell)."""

    seq = fields.BigIntField(primary_key=True)
    account = fields.ForeignKeyField("models.Account", related_name=False, on_delete=fields.CASCADE)
    kind = fields.CharField(max_length=50)
    # Plain ids (no foreign keys) so the log outlives what it describes; they pick
    # the rows a resuming subscription replays: inbox (account), thread, member.
    conversation_id = fields.IntField(null=True)
    user_id = fields.IntField(null=True)
    payload = fields.JSONField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "event"
        indexes = (("account_id", "seq"), ("conversation_id", "seq"), ("user_id", "seq"))
