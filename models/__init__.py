"""Tortoise models: data only (no GraphQL, no bus)."""
from models.accounts import Account, KnownAddress, Session, User
from models.audit import AuditEntry
from models.delivery import DeliveryJob, MessagingChannel
from models.enums import (
    PLAN_CAPABILITIES,
    AuditAction,
    Capability,
    ChannelProvider,
    ConversationStatus,
    DeliveryJobState,
    DeliveryStatus,
    MessageDirection,
    NotificationKind,
    Plan,
    Role,
)
from models.inbox import AssignmentEvent, Contact, Conversation, InboxCount, Message, StatusEvent
from models.notifications import Event, Notification

__all__ = [
    "Account", "AssignmentEvent", "AuditAction", "AuditEntry", "Capability", "ChannelProvider", "Contact",
    "Conversation", "ConversationStatus", "DeliveryJob", "DeliveryJobState", "DeliveryStatus", "Event",
    "InboxCount", "KnownAddress", "Message", "MessageDirection", "MessagingChannel", "Notification",
    "NotificationKind", "PLAN_CAPABILITIES", "Plan", "Role", "Session", "StatusEvent", "User",
]
