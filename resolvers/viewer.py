"""Who is asking: the member, their account, and the checks every resolver makes."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models import PLAN_CAPABILITIES, Account, Capability, Role, User
from resolvers.errors import DomainError, ErrorCode


@dataclass(frozen=True)
class Viewer:
    user: User
    account: Account
    session_id: int | None = None
    # When the login ends at the latest; a running subscription ends then.
    session_expires_at: datetime | None = None

    @property
    def user_id(self) -> int:
        return self.user.id

    @property
    def account_id(self) -> int:
        return self.account.id

    @property
    def role(self) -> Role:
        return Role(self.user.role)

    @property
    def capabilities(self) -> frozenset[Capability]:
        return PLAN_CAPABILITIES[self.account.plan]

    def require_capability(self, capability: Capability = Capability.TEAM_INBOX) -> None:
        if capability not in self.capabilities:
            raise DomainError(
                ErrorCode.FEATURE_NOT_IN_PLAN,
                f"The {self.account.plan.value} plan does not include {capability.value}",
            )

    def require_writer(self) -> None:
        """Analysts are read-only: every change is made by an admin or an agent."""
        if self.role == Role.ANALYST:
            raise DomainError(ErrorCode.FORBIDDEN, "Analysts have read-only access")

    def require_admin(self) -> None:
        if self.role != Role.ADMIN:
            raise DomainError(ErrorCode.FORBIDDEN, "Only admins can manage the team and plan")


def require_viewer(viewer: Viewer | None) -> Viewer:
    if viewer is None:
        raise DomainError(ErrorCode.UNAUTHENTICATED, "Log in and send 'Authorization: Bearer <token>'")
    return viewer
