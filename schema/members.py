"""Members, accounts and the viewer."""
from __future__ import annotations

import strawberry

import models
from resolvers import channels
from resolvers.members import initials_of
from resolvers.viewer import Viewer as ViewerModel
from resolvers.viewer import require_viewer
from schema.channels import MessagingChannel
from schema.context import Info
from schema.enums import Capability, Plan, Role
from schema.errors import run_query
from schema.identities import viewer_id


@strawberry.type(description="A team member with their own login.")
class User:
    id: strawberry.ID = strawberry.field(description="Opaque member id.")
    name: str = strawberry.field(description="Display name.")
    email: str = strawberry.field(description="Login email.")
    initials: str = strawberry.field(description="Two letters for the assignee badge, derived from the name.")
    role: Role = strawberry.field(description="What the member may do.")
    active: bool = strawberry.field(
        description="Deactivated members keep their history but cannot log in or be assigned."
    )

    @classmethod
    def from_model(cls, user: models.User) -> User:
        return cls(
            id=strawberry.ID(str(user.id)), name=user.name, email=user.email, initials=initials_of(user.name),
            role=user.role, active=user.active,
        )


def user_or_none(model: models.User | None) -> User | None:
    return None if model is None else User.from_model(model)


@strawberry.type(description="The business using teaminbox, and its plan.")
class Account:
    id: strawberry.ID = strawberry.field(description="Opaque account id (used in the inbound webhook's URL).")
    name: str = strawberry.field(description="The business's name.")
    plan: Plan = strawberry.field(description="The current plan.")
    capabilities: list[Capability] = strawberry.field(
        description="Features the plan includes; clients hide what is not here."
    )
    webhook_secret: str | None = strawberry.field(
        description="Secret that signs inbound webhooks (admins only; null for others)."
    )

    @strawberry.field(
        description="The messaging channel (admins only: FORBIDDEN for others); null until one is connected."
    )
    async def messaging_channel(self, info: Info) -> MessagingChannel | None:
        async def load() -> MessagingChannel | None:
            view = await channels.channel_of(require_viewer(info.context.viewer), info.context.limits.public_url)
            return None if view is None else MessagingChannel.from_view(view)

        return await run_query(load)

    @classmethod
    def from_model(cls, account: models.Account, *, is_admin: bool) -> Account:
        return cls(
            id=strawberry.ID(str(account.id)), name=account.name, plan=account.plan,
            capabilities=sorted(models.PLAN_CAPABILITIES[account.plan], key=lambda c: c.value),
            webhook_secret=account.webhook_secret if is_admin else None,
        )


@strawberry.type(description="Who is logged in.")
class Viewer:
    id: strawberry.ID = strawberry.field(
        description="Opaque id of the logged-in member's view, the same across their logins: the cache key."
    )
    user: User = strawberry.field(description="The logged-in member.")
    account: Account = strawberry.field(description="Their account, plan and capabilities.")

    @classmethod
    def from_viewer(cls, viewer: ViewerModel) -> Viewer:
        return cls(
            id=strawberry.ID(viewer_id(viewer.user_id)),
            user=User.from_model(viewer.user),
            account=Account.from_model(viewer.account, is_admin=viewer.role == models.Role.ADMIN),
        )
