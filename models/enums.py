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
    DELIVERY_FAILED = "DELIVERY_FAILED"


class ChannelProvider(str, Enum):
    """Who carries an account's SMS: a real provider, any other behind our signed JSON
    webhook, or the built-in simulation (the demo: no message leaves the server)."""

    TWILIO = "TWILIO"
    MESSAGEMEDIA = "MESSAGEMEDIA"
    WEBHOOK = "WEBHOOK"
    SIMULATED = "SIMULATED"


class DeliveryStatus(str, Enum):
    """An outbound message's life; it only moves forward (PENDING -> SENT -> DELIVERED, or
    FAILED from PENDING or SENT)."""

    PENDING = "PENDING"
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


class DeliveryJobState(str, Enum):
    QUEUED = "QUEUED"  # waiting for its time (next_attempt_at) and its turn in the conversation
    SENDING = "SENDING"  # claimed by an instance until lease_until: the request may be on its way
    AWAITING_REPORT = "AWAITING_REPORT"  # sent or maybe sent: waiting for the provider's word
    DONE = "DONE"


class AuditAction(str, Enum):
    MEMBER_CREATED = "MEMBER_CREATED"
    ROLE_CHANGED = "ROLE_CHANGED"
    MEMBER_DEACTIVATED = "MEMBER_DEACTIVATED"
    MEMBER_REACTIVATED = "MEMBER_REACTIVATED"
    PLAN_CHANGED = "PLAN_CHANGED"
    WEBHOOK_SECRET_ROTATED = "WEBHOOK_SECRET_ROTATED"
    LOGIN_FROM_NEW_ADDRESS = "LOGIN_FROM_NEW_ADDRESS"
    CHANNEL_CHANGED = "CHANNEL_CHANGED"
