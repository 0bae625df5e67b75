"""Tortoise models: data only (no GraphQL, no bus)."""
from models.accounts import Account, Session, User
from models.enums import (
    PLAN_CAPABILITIES,
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
    "Account", "AssignmentEvent", "Capability", "Contact", "Conversation", "ConversationStatus",
    "Event", "InboxCount", "Message", "MessageDirection", "Notification", "NotificationKind", "PLAN_CAPABILITIES",
    "Plan", "Role", "Session", "StatusEvent", "User",
]
