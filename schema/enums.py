"""The GraphQL enums: the same closed sets the data model uses.

`strawberry.enum` registers each class in place (it returns the class itself), so the
names below are the model enums and type-check as such."""
import strawberry

import models
from resolvers.inbox import AssigneeScope as _AssigneeScope

strawberry.enum(models.Plan, description="What the account pays for; decides its capabilities.")
strawberry.enum(models.Capability, description="A feature an account's plan includes.")
strawberry.enum(
    models.Role, description="ADMIN manages members and plan; AGENT works conversations; ANALYST reads only."
)
strawberry.enum(models.ConversationStatus, description="OPEN is the default inbox tab.")
strawberry.enum(models.MessageDirection, description="INBOUND from the customer, OUTBOUND from the team.")
strawberry.enum(
    models.NotificationKind,
    description="ASSIGNED: someone assigned you a conversation. NEW_MESSAGE: a customer wrote in one of yours. "
    "DELIVERY_FAILED: a reply in one of yours (or your own reply in an unassigned one) could not be delivered.",
)
strawberry.enum(
    models.DeliveryStatus,
    description="A reply's way to the customer: PENDING (not yet taken by the provider), SENT (the provider took "
    "it), DELIVERED (the handset got it), FAILED (see errorCode; retryMessage sends it again). Only moves forward.",
)
strawberry.enum(
    _AssigneeScope,
    description="Whose conversations: ALL, MINE (the viewer's), UNASSIGNED, or USER (with `assigneeId`).",
)

Plan = models.Plan
Capability = models.Capability
Role = models.Role
ConversationStatus = models.ConversationStatus
MessageDirection = models.MessageDirection
NotificationKind = models.NotificationKind
DeliveryStatus = models.DeliveryStatus
AssigneeScope = _AssigneeScope
