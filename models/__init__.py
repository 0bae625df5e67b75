"""Tortoise models: data only (no GraphQL, no bus)."""
from models.accounts import Account, KnownAddress, Session, User
from models.audit import AuditEntry
from models.enums import (
    PLAN_CAPABILITIES,
    AuditAction,
    Capability,
    ConversationStatus,
    MessageDirection,
    NotificationKind,
    Plan,
    Role,
)
from models.inbox import AssignmentEvent, Contact, Conversation, InboxCount, Message, StatusEvent
from models.notifications import Event, Notification

__all__ = [
    "Account", "AssignmentEvent", "AuditAction", "AuditEntry", "Capability", "Contact", "Conversation",
    "ConversationStatus", "Event", "InboxCount", "KnownAddress", "Message", "MessageDirection", "Notification",
    "NotificationKind", "PLAN_CAPABILITIES", "Plan", "Role", "Session", "StatusEvent", "User",
]
