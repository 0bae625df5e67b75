"""Persisted documents: Apollo's automatic persisted queries (APQ) and trusted documents.

Interface used by the GraphQL endpoint (server/graphql_view.py), kept stable:
- `PersistedDocuments(settings)`, `await .start()` / `await .stop()` in the app's lifespan.
- `await .document(query, extensions, role)`: the document text to run for a request's
  `query` and `extensions` (and the role of its token, None when anonymous), or raises
  `PersistedDocumentError` (a GraphQL error code and a message clients understand)."""
from __future__ import annotations

from collections.abc import Mapping

from models import Role
from server.settings import Settings


class PersistedDocumentError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class PersistedDocuments:
    def __init__(self, settings: Settings):
        self.settings = settings

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def document(
        self, query: str | None, extensions: Mapping[str, object] | None, role: Role | None
    ) -> str | None:
        return query
