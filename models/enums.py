"""Closed sets shared by the data model and (mirrored) by the GraphQL schema."""
from enum import Enum


class Plan(str, Enum):
    STARTER = "STARTER"
    TEAM = "TEAM"
    ENTERPRISE = "ENTERPRISE"


class Capability(str, Enum):
    TEAM_INBOX = "TEAM_INBOX"


# What each plan unlocks. STARTER is the entry plan: a shared inbox without
# assignment, assignee filters, counts, assignment notifications or typing.
PLAN_CAPABILITIES: dict[Plan, frozenset[Capability]] = {
    Plan.STARTER: frozenset(),
    Plan.TEAM: frozenset({Capability.TEAM_INBOX}),
    Plan.ENTERPRISE: frozenset({Capability.TEAM_INBOX}),
}


class Role(str, Enum):
    ADMIN = "ADMIN"
    AGENT = "AGENT"
    ANALYST = "ANALYST"


class ConversationStatus(str, Enum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


class MessageDirection(str, Enum):
    INBOUND = "INBOUND"
    OUTBOUND = "OUTBOUND"


class NotificationKind(str, Enum):
    ASSIGNED = "ASSIGNED"
    NEW_MESSAGE = "NEW_MESSAGE"


class AuditAction(str, Enum):
    MEMBER_CREATED = "MEMBER_CREATED"
    ROLE_CHANGED = "ROLE_CHANGED"
    MEMBER_DEACTIVATED = "MEMBER_DEACTIVATED"
    MEMBER_REACTIVATED = "MEMBER_REACTIVATED"
    PLAN_CHANGED = "PLAN_CHANGED"
    WEBHOOK_SECRET_ROTATED = "WEBHOOK_SECRET_ROTATED"
    LOGIN_FROM_NEW_ADDRESS = "LOGIN_FROM_NEW_ADDRESS"
