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

from models import User
from resolvers.assignment import NO_EXPECTATION, assign_conversation
from resolvers.auth import authenticate
from resolvers.conversations import get_conversation
from resolvers.errors import DomainError, ErrorCode
from resolvers.members import initials_of
from schema.compiled.inbox import Decline

VARIABLES = frozenset({"conversationId", "assigneeId", "note", "expectedAssigneeId"})
_ABSENT = object()


def _optional_text(variables: dict[str, Any], name: str) -> Any:
    """A nullable ID/String variable as the general path would receive it: absent, None
    or a string; anything else declines (graphql-core coerces or refuses it)."""
    value = variables.get(name, _ABSENT)
    if value is _ABSENT or value is None or isinstance(value, str):
        return value
    raise Decline


async def execute_assign(variables: dict[str, Any], token: str | None) -> dict[str, Any]:
    """The response's `data` for AssignConversation. Raises Decline before any change."""
    if not variables.keys() <= VARIABLES or not isinstance(variables.get("conversationId"), str):
        raise Decline
    assignee_id, note = _optional_text(variables, "assigneeId"), _optional_text(variables, "note")
    expected = _optional_text(variables, "expectedAssigneeId")
    viewer = await authenticate(token)
    if viewer is None:
        raise Decline  # the general path answers UNAUTHENTICATED
    conversation_id = variables["conversationId"]
    try:
        assigned = await assign_conversation(
            viewer, conversation_id, None if assignee_id is _ABSENT else assignee_id,
            note=None if note is _ABSENT else note,
            expected_assignee_id=NO_EXPECTATION if expected is _ABSENT else expected,
        )
        conversation, assignee, errors = assigned.conversation, assigned.assignee, []
    except DomainError as error:
        errors = [{"code": error.code.value, "message": error.message, "field": error.field}]
        conversation = assignee = None
        if error.code == ErrorCode.ASSIGNMENT_CONFLICT:  # the payload shows it as it is now
            conversation = await get_conversation(viewer, conversation_id)
            assignee = await User.get_or_none(id=conversation.assignee_id) if conversation.assignee_id else None
    return {"assignConversation": {"conversation": _conversation(conversation, assignee), "userErrors": errors}}


def _conversation(conversation, assignee: User | None) -> dict[str, Any] | None:
    if conversation is None:
        return None
    badge = None if assignee is None else {
        "id": str(assignee.id), "name": assignee.name, "initials": initials_of(assignee.name),
    }
    return {"id": str(conversation.id), "version": conversation.version, "assignee": badge}
