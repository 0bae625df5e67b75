"""The GraphQL enums: the same closed sets the data model uses."""
import strawberry

import models
from resolvers.inbox import AssigneeScope as _AssigneeScope

Plan = strawberry.enum(models.Plan, description="What the account pays for; decides its capabilities.")
Capability = strawberry.enum(models.Capability, description="A feature an account's plan includes.")
Role = strawberry.enum(
    models.Role, description="ADMIN manages members and plan; AGENT works conversations; ANALYST reads only."
)
ConversationStatus = strawberry.enum(models.ConversationStatus, description="OPEN is the default inbox tab.")
MessageDirection = strawberry.enum(models.MessageDirection, description="INBOUND from the customer, OUTBOUND from the team.")
NotificationKind = strawberry.enum(
    models.NotificationKind,
    description="ASSIGNED: someone assigned you a conversation. NEW_MESSAGE: a customer wrote in one of yours.",
)
AssigneeScope = strawberry.enum(
    _AssigneeScope,
    description="Whose conversations: ALL, MINE (the viewer's), UNASSIGNED, or USER (with `assigneeId`).",
)
