"""Accounts (tenants), their members and members' login sessions.

Each foreign key `x` is declared with its relation type and beside it `x_id`, the column
Tortoise adds, so the type checker knows both (Tortoise sets `x_id` on every instance)."""
from tortoise import fields
from tortoise.models import Model

from models.enums import Plan, Role


class Account(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    plan = fields.CharEnumField(Plan, max_length=20, default=Plan.TEAM)
    webhook_secret = fields.CharField(max_length=128)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "account"


class User(Model):
    """A team member with their own login. Deactivated members keep their rows
    (history stays attributed) but can no longer log in or be assigned."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation["Account"] = fields.ForeignKeyField(
        "models.Account", related_name="users", on_delete=fields.CASCADE
    )
    account_id: int
    email = fields.CharField(max_length=254, unique=True)
    name = fields.CharField(max_length=200)
    role = fields.CharEnumField(Role, max_length=20, default=Role.AGENT)
    password_hash = fields.CharField(max_length=255)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "user"
        indexes = (("account_id", "active"),)


class Session(Model):
    """A bearer token. Only its SHA-256 is stored, so a database leak leaks no tokens."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name="sessions", on_delete=fields.CASCADE
    )
    user_id: int
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    # When the token was last used (refreshed at most once a minute): the idle timeout
    # counts from here. Null for sessions older than the column: counted from created_at.
    last_seen_at = fields.DatetimeField(null=True)

    class Meta:
        table = "session"


class KnownAddress(Model):
    """A client address a member has logged in from: a login from any other is written to
    the audit log, and failed logins for the member's email do not lock out this one."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name="known_addresses", on_delete=fields.CASCADE
    )
    user_id: int
    address = fields.CharField(max_length=64)
    first_seen_at = fields.DatetimeField(auto_now_add=True)
    last_seen_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "known_address"
        unique_together = (("user_id", "address"),)
