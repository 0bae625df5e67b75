"""The AssignConversation document (graphql/operations/AssignConversation.graphql)
without graphql-core: the same resolver, the same JSON.

It is the write the inbox makes most, and parsing, validating and executing the document
cost about a third of the mutation's CPU. Unlike a compiled query it changes data, so it
declines (`Decline`: the general path answers) only *before* calling the resolver:
variables of another shape than clients send, or no valid viewer. Once the resolver has
run, the answer is made here whatever happens (server/compiled_route.py masks an
unexpected error as the general path would): a mutation never runs twice."""
from __future__ import annotations

from typing import Any

from models import Conversation, User
from resolvers.assignment import AssignmentConflict, ExpectedAssignee, assign_conversation
from resolvers.auth import authenticate
from resolvers.errors import DomainError
from resolvers.members import initials_of
from schema.compiled.inbox import Decline

VARIABLES = frozenset({"conversationId", "assigneeId", "note", "expectedAssigneeId"})


def _optional_text(variables: dict[str, Any], name: str) -> str | None:
    """A nullable ID/String variable as the general path would receive it: None (absent
    or null) or a string; anything else declines (graphql-core coerces or refuses it)."""
    value = variables.get(name)
    if value is None or isinstance(value, str):
        return value
    raise Decline


async def execute_assign(variables: dict[str, Any], token: str | None) -> dict[str, Any]:
    """The response's `data` for AssignConversation. Raises Decline before any change."""
    if not variables.keys() <= VARIABLES or not isinstance(variables.get("conversationId"), str):
        raise Decline
    assignee_id, note = _optional_text(variables, "assigneeId"), _optional_text(variables, "note")
    # Absent means no expectation; given (null included) makes it a compare-and-set.
    expected = ExpectedAssignee(_optional_text(variables, "expectedAssigneeId")) if (
        "expectedAssigneeId" in variables) else None
    viewer = await authenticate(token)
    if viewer is None:
        raise Decline  # the general path answers UNAUTHENTICATED
    conversation: Conversation | None = None
    assignee: User | None = None
    errors: list[dict[str, Any]] = []
    try:
        assigned = await assign_conversation(
            viewer, variables["conversationId"], assignee_id, note=note, expected=expected
        )
        conversation, assignee = assigned.conversation, assigned.assignee
    except DomainError as error:
        errors = [{"code": error.code.value, "message": error.message, "field": error.field}]
        if isinstance(error, AssignmentConflict):  # the payload shows it as it is now
            conversation, assignee = error.current.conversation, error.current.assignee
    return {"assignConversation": {"conversation": _conversation(conversation, assignee), "userErrors": errors}}


def _conversation(conversation: Conversation | None, assignee: User | None) -> dict[str, Any] | None:
    if conversation is None:
        return None
    badge = None if assignee is None else {
        "id": str(assignee.id), "name": assignee.name, "initials": initials_of(assignee.name),
    }
    return {"id": str(conversation.id), "version": conversation.version, "assignee": badge}
