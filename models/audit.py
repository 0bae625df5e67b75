"""The audit log: who changed access (roles, plans, members' state, the webhook secret)
or logged in from a new address. Written in the same transaction as the change."""
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

from models.enums import AuditAction

if TYPE_CHECKING:
    from models.accounts import Account, User


class AuditEntry(Model):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation["Account"] = fields.ForeignKeyField(
        "models.Account", related_name="audit_entries", on_delete=fields.CASCADE
    )
    account_id: int
    # Null when the change came from the command line, not a member.
    actor: fields.ForeignKeyNullableRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    actor_id: int | None
    action = fields.CharEnumField(AuditAction, max_length=40)
    # The member the change was about (role, state, login), if any.
    target_user: fields.ForeignKeyNullableRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    target_user_id: int | None
    # The changed values before and after; never a secret.
    before: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    after: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    address = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "audit_entry"
        indexes = (("account_id", "id"),)
