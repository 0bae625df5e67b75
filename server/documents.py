"""The document a GraphQL request runs, for HTTP and WebSocket alike: the persisted
document its hash names (server/persisted) or its own text, and the operation it selects
(server/operation_selection); refusals are RequestErrors."""
from __future__ import annotations

from typing import Any

from strawberry.types.graphql import OperationType

from resolvers.viewer import Viewer
from server.operation_selection import selected_operation
from server.persisted import PersistedDocumentError, PersistedDocuments
from server.request_errors import RequestError, RequestErrorCode


class Documents:
    """The text a request runs, for HTTP and WebSocket alike: the persisted document its
    hash names, or its own text; and the type of the operation it selects."""

    def __init__(self, persisted: PersistedDocuments, max_tokens: int):
        self.persisted = persisted
        self.max_tokens = max_tokens

    async def text(
        self, query: str | None, extensions: dict[str, Any] | None, viewer: Viewer | None, document_id: object = None
    ) -> str:
        try:
            text = await self.persisted.document(
                query, extensions, viewer.role if viewer else None, document_id=document_id
            )
        except PersistedDocumentError as error:
            # A hash unknown or not trusted is a well-formed request (200 under
            # application/json); a malformed hash or version is not.
            well_formed = error.status in (403, 404)
            raise RequestError(
                error.message, error.code, status=error.status, json_status=200 if well_formed else error.status
            ) from None
        if not text:
            raise RequestError("No GraphQL query found in the request", RequestErrorCode.BAD_REQUEST)
        return text

    def operation_type(self, text: str, operation_name: object) -> OperationType:
        return OperationType(selected_operation(text, operation_name, max_tokens=self.max_tokens).value)
