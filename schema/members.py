"""Members, accounts and the viewer."""
from __future__ import annotations

import strawberry

import models
from resolvers.members import initials_of
from resolvers.viewer import Viewer as ViewerModel
from schema.enums import Capability, Plan, Role


@strawberry.type(description="A team member with their own login.")
class User:
    model: strawberry.Private[models.User]

    @strawberry.field(description="Opaque member id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.model.id))

    @strawberry.field(description="Display name.")
    def name(self) -> str:
        return self.model.name

    @strawberry.field(description="Login email.")
    def email(self) -> str:
        return self.model.email

    @strawberry.field(description="Two letters for the assignee badge, derived from the name.")
    def initials(self) -> str:
        return initials_of(self.model.name)

    @strawberry.field(description="What the member may do.")
    def role(self) -> Role:
        return self.model.role

    @strawberry.field(description="Deactivated members keep their history but cannot log in or be assigned.")
    def active(self) -> bool:
        return self.model.active


def user_or_none(model: models.User | None) -> User | None:
    return None if model is None else User(model=model)


@strawberry.type(description="The business using teaminbox, and its plan.")
class Account:
    model: strawberry.Private[models.Account]
    is_admin: strawberry.Private[bool] = False

    @strawberry.field(description="Opaque account id (used in the inbound webhook's URL).")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.model.id))

    @strawberry.field(description="The business's name.")
    def name(self) -> str:
        return self.model.name

    @strawberry.field(description="The current plan.")
    def plan(self) -> Plan:
        return self.model.plan

    @strawberry.field(description="Features the plan includes; clients hide what is not here.")
    def capabilities(self) -> list[Capability]:
        return sorted(models.PLAN_CAPABILITIES[self.model.plan], key=lambda c: c.value)

    @strawberry.field(description="Secret that signs inbound webhooks (admins only; null for others).")
    def webhook_secret(self) -> str | None:
        return self.model.webhook_secret if self.is_admin else None


@strawberry.type(description="Who is logged in.")
class Viewer:
    viewer: strawberry.Private[ViewerModel]

    @strawberry.field(description="The logged-in member.")
    def user(self) -> User:
        return User(model=self.viewer.user)

    @strawberry.field(description="Their account, plan and capabilities.")
    def account(self) -> Account:
        return Account(model=self.viewer.account, is_admin=self.viewer.role == models.Role.ADMIN)
