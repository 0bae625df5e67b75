"""Which operation of a document a request runs, decided before it runs, for HTTP and
WebSocket alike: graphql-core would run the first of several operations when no
`operationName` is given, and Strawberry answers an unknown name with a masked error.

The document is parsed once per distinct text (an LRU cache; the schema's parser cache
then serves the same text again). A document that does not parse (or is over the token
limit) is refused here too: Strawberry's parser cache raises its syntax error outside the
handling a subscription's stream has, so over a WebSocket it would end as a bare
`complete`."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse

from server.request_errors import RequestError, RequestErrorCode

_DOCUMENTS_CACHED = 512


@dataclass(frozen=True)
class _Operation:
    name: str | None
    type: OperationType


def selected_operation(query: str, operation_name: object, *, max_tokens: int) -> OperationType:
    """The type of the operation the request names (or of its only operation). Raises
    RequestError when the document does not parse or no single operation is meant."""
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestError("`operationName` must be a string", RequestErrorCode.BAD_REQUEST)
    operations = _operations(query, max_tokens)
    if isinstance(operations, GraphQLError):
        raise RequestError(
            operations.message, RequestErrorCode.GRAPHQL_PARSE_FAILED, json_status=200, located=operations
        )
    # An empty name is a name (graphql-js's reading): it names no operation.
    if operation_name is not None:
        for operation in operations:
            if operation.name == operation_name:
                return operation.type
        raise RequestError(
            f"Unknown operation named '{operation_name}'.", RequestErrorCode.OPERATION_RESOLUTION_FAILURE,
            json_status=200,
        )
    if len(operations) == 1:
        return operations[0].type
    message = (
        "Must provide operation name if query contains multiple operations." if operations
        else "The document contains no operation."
    )
    raise RequestError(message, RequestErrorCode.OPERATION_RESOLUTION_FAILURE, json_status=200)


def parses(query: str, *, max_tokens: int) -> bool:
    """The document parses and holds an operation (what is worth keeping by its hash)."""
    operations = _operations(query, max_tokens)
    return not isinstance(operations, GraphQLError) and bool(operations)


@lru_cache(maxsize=_DOCUMENTS_CACHED)
def _operations(query: str, max_tokens: int) -> tuple[_Operation, ...] | GraphQLError:
    try:
        document = parse(query, no_location=True, max_tokens=max_tokens)
    except GraphQLError as error:
        return error
    return tuple(
        _Operation(definition.name.value if definition.name else None, definition.operation)
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
    )
