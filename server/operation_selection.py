"""Which operation of a document a request runs, decided before it runs, for HTTP and
WebSocket alike: graphql-core would run the first of several operations when no
`operationName` is given, and Strawberry answers an unknown name with a masked error.

The document is parsed once per distinct text (an LRU cache; the schema's parser cache
then serves the same text again). A document that does not parse is left to the schema,
which reports the syntax error in full."""
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


def selected_operation(query: str, operation_name: object, *, max_tokens: int) -> OperationType | None:
    """The type of the operation the request names (or of its only operation); None when
    the document does not parse. Raises RequestError when no single operation is meant."""
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestError("`operationName` must be a string", RequestErrorCode.BAD_REQUEST)
    operations = _operations(query, max_tokens)
    if operations is None:
        return None
    if operation_name:
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


@lru_cache(maxsize=_DOCUMENTS_CACHED)
def _operations(query: str, max_tokens: int) -> tuple[_Operation, ...] | None:
    try:
        document = parse(query, no_location=True, max_tokens=max_tokens)
    except GraphQLError:
        return None
    return tuple(
        _Operation(definition.name.value if definition.name else None, definition.operation)
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
    )
