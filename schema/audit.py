"""The audit log as admins read it: entries, their values before and after, the page."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

import models
from resolvers import audit
from resolvers.viewer import Viewer as ViewerModel
from schema.channels import ChannelProvider
from schema.enums import Plan, Role
from schema.loaders import Loaders
from schema.members import User, user_or_none
from schema.pagination import PageInfo, decode_cursor, encode_cursor, keyset_page

strawberry.enum(
    models.AuditAction,
    description="What an audit entry records: a member created, a role changed, a member deactivated or "
    "reactivated, the plan changed, the webhook secret rotated, or a login from an address the member had not "
    "logged in from before.",
)
AuditAction = models.AuditAction


@strawberry.type(
    description="The values an audited change touched, as they were before it or after it. What the change did "
    "not touch is null; a secret is never among them."
)
class AuditValues:
    role: Role | None = strawberry.field(description="The member's role (ROLE_CHANGED, MEMBER_CREATED).")
    active: bool | None = strawberry.field(
        description="Whether the member could log in (MEMBER_DEACTIVATED, MEMBER_REACTIVATED)."
    )
    plan: Plan | None = strawberry.field(description="The account's plan (PLAN_CHANGED).")
    email: str | None = strawberry.field(description="The member's login email (MEMBER_CREATED).")
    name: str | None = strawberry.field(description="The member's display name (MEMBER_CREATED).")
    provider: ChannelProvider | None = strawberry.field(description="The messaging provider (CHANNEL_CHANGED).")

    @classmethod
    def from_values(cls, values: dict[str, Any] | None) -> AuditValues | None:
        """Only the keys above are shown, whatever else a row might hold."""
        if not values:
            return None
        role, plan, provider = values.get("role"), values.get("plan"), values.get("provider")
        return cls(
            role=None if role is None else Role(role), active=values.get("active"),
            plan=None if plan is None else Plan(plan), email=values.get("email"), name=values.get("name"),
            provider=None if provider is None else ChannelProvider(provider),
        )


@strawberry.type(description="One change to who may do what in the account, or a login from a new address.")
class AuditEntry:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    action: AuditAction = strawberry.field(description="What happened.")
    at: datetime = strawberry.field(description="When: the time the change was written.")
    before: AuditValues | None = strawberry.field(
        description="The changed values before the change (null when there were none: a new member, a rotated "
        "secret, a login)."
    )
    after: AuditValues | None = strawberry.field(
        description="The changed values after it (null for a rotated secret: it is never shown, only that it changed)."
    )
    address: str | None = strawberry.field(description="The client address a login came from (logins only).")
    actor_id: strawberry.Private[int | None]
    target_id: strawberry.Private[int | None]
    loaders: strawberry.Private[Loaders]

    @classmethod
    def from_model(cls, entry: models.AuditEntry, loaders: Loaders) -> AuditEntry:
        return cls(
            id=strawberry.ID(str(entry.id)), action=entry.action, at=entry.created_at,
            before=AuditValues.from_values(entry.before), after=AuditValues.from_values(entry.after),
            address=entry.address, actor_id=entry.actor_id, target_id=entry.target_user_id, loaders=loaders,
        )

    @strawberry.field(description="Who made the change; null when it was made from the command line.")
    async def actor(self) -> User | None:
        return user_or_none(await self.loaders.user_or_none(self.actor_id))

    @strawberry.field(description="The member the change was about (null for the plan and the webhook secret).")
    async def target(self) -> User | None:
        return user_or_none(await self.loaders.user_or_none(self.target_id))


@strawberry.type(description="An audit entry and its cursor.")
class AuditEntryEdge:
    cursor: str = strawberry.field(description="Pass as `after` to continue after this entry.")
    node: AuditEntry = strawberry.field(description="The entry.")


@strawberry.type(description="A page of the account's audit log, newest first.")
class AuditEntryConnection:
    edges: list[AuditEntryEdge] = strawberry.field(description="This page.")
    page_info: PageInfo = strawberry.field(description="Whether older entries follow.")
    viewer: strawberry.Private[ViewerModel]

    @strawberry.field(description="How many entries the account's log holds (one COUNT query).")
    async def total_count(self) -> int:
        return await audit.count_audit_entries(self.viewer)


def parse_audit_cursor(after: str | None) -> int | None:
    """The id the page continues below (entries are newest first)."""
    return decode_cursor(after, (int,))[0] if after else None


def audit_connection(
    rows: list[models.AuditEntry], size: int, after: str | None, loaders: Loaders, viewer: ViewerModel
) -> AuditEntryConnection:
    page = keyset_page(rows, size, after, lambda row: encode_cursor(row.id))
    return AuditEntryConnection(
        edges=[AuditEntryEdge(cursor=cursor, node=AuditEntry.from_model(row, loaders)) for cursor, row in page.rows],
        page_info=page.page_info,
        viewer=viewer,
    )
