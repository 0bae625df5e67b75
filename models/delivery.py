"""Replies on their way to the customer: each account's messaging channel and the
delivery jobs the workers send (the outbox for SMS: a job is written in the reply's
transaction, so a stored reply is always sent or accounted for)."""
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.enums import ChannelProvider, DeliveryJobState

if TYPE_CHECKING:
    from models.accounts import Account
    from models.inbox import Conversation, Message


class MessagingChannel(Model):
    """How an account's replies leave: the provider, the number they are sent from, and
    the provider's credentials, sealed (resolvers/secrets.py): never stored in clear."""

    id = fields.IntField(primary_key=True)
    account: fields.OneToOneRelation["Account"] = fields.OneToOneField(
        "models.Account", related_name="messaging_channel", on_delete=fields.CASCADE
    )
    account_id: int
    provider = fields.CharEnumField(ChannelProvider, max_length=20)
    sender_number = fields.CharField(max_length=20)
    api_key_sealed = fields.TextField(default="")
    api_secret_sealed = fields.TextField(default="")
    url = fields.CharField(max_length=500, null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "messaging_channel"


class DeliveryJob(Model):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation["Account"] = fields.ForeignKeyField(
        "models.Account", related_name=False, on_delete=fields.CASCADE
    )
    account_id: int
    conversation: fields.ForeignKeyRelation["Conversation"] = fields.ForeignKeyField(
        "models.Conversation", related_name=False, on_delete=fields.CASCADE
    )
    conversation_id: int
    message: fields.OneToOneRelation["Message"] = fields.OneToOneField(
        "models.Message", related_name="delivery_job", on_delete=fields.CASCADE
    )
    message_id: int
    state = fields.CharEnumField(DeliveryJobState, max_length=20, default=DeliveryJobState.QUEUED)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    # SENDING: the claiming instance's lease; past it the send is presumed to have crashed
    # midway (maybe sent: never resent blindly). AWAITING_REPORT: how long to wait for a
    # delivery report before calling the reply unconfirmed.
    deadline = fields.DatetimeField(null=True)
    claimed_by = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "delivery_job"
        indexes = (("state", "next_attempt_at"), ("conversation_id", "state", "id"))
