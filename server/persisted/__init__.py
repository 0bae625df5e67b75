"""Persisted documents: Apollo's automatic persisted queries (APQ) and trusted documents.

Interface used by the GraphQL endpoint (server/graphql_view.py), kept stable:
- `PersistedDocuments(settings)`, `await .start()` / `await .stop()` in the app's lifespan.
- `await .document(query, extensions, role, document_id=...)`: the document text to run
  for a request's `query`, `extensions` and (the GraphQL-over-HTTP persisted documents
  proposal's top-level) `documentId`, and the role of its token (None when anonymous);
  or raises `PersistedDocumentError` (a GraphQL error code, a message clients understand
  and the HTTP status Apollo's servers answer it with).

The rules, Apollo Server's:
- no hash: the query as it came;
- a hash and no query: the trusted document or the stored one with that hash, else
  PersistedQueryNotFound (Apollo's link then resends the operation with its text);
- a hash and a query: the query, once its SHA-256 is the hash; it is stored, so the next
  request may send the hash alone.
With `trusted_documents_only`, an AGENT, ADMIN or anonymous request runs only trusted
documents (graphql/persisted-documents.json, see trusted.py) and stores nothing else;
analysts keep ad-hoc documents and APQ.

The store is shared by the instances through Redis on a redis:// broadcast URL (one
process otherwise; stores.py). A Redis failure never fails a request that carries its
text (it runs, unstored); a hash alone is then answered PersistedQueryNotFound, so the
client resends the text and is served."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from redis.exceptions import RedisError

from models import Role
from server.operation_selection import parses
from server.persisted import manifest
from server.persisted.errors import PersistedDocumentError, hash_mismatch, not_found, not_trusted
from server.persisted.request import requested_hash, sha256_hex
from server.persisted.stores import DocumentStore, MemoryStore, RedisStore
from server.persisted.trusted import TrustedDocuments
from server.settings import Settings

__all__ = ["PersistedDocumentError", "PersistedDocuments"]

logger = logging.getLogger(__name__)

# The largest document kept by its hash: ours are about 1 KiB; with the default capacity
# the store holds at most 10,000 x 16 KiB.
MAX_KEPT_DOCUMENT_BYTES = 16 * 1024


class PersistedDocuments:
    def __init__(self, settings: Settings, *, manifest_path: Path = manifest.MANIFEST_PATH):
        self.settings = settings
        self.trusted = TrustedDocuments(_load_manifest(manifest_path, settings), settings.max_tokens)
        self.store: DocumentStore = (
            RedisStore(settings.broadcast_url, settings.namespace, settings.persisted_query_max_documents)
            if settings.broadcast_url.startswith(("redis://", "rediss://", "unix://"))
            else MemoryStore(settings.persisted_query_max_documents)
        )
        self._store_failing = False

    async def start(self) -> None:
        # Nothing to connect: Redis is reached on the first lookup, so an instance starts
        # while Redis is down (and serves texts meanwhile).
        return None

    async def stop(self) -> None:
        await self.store.close()

    async def document(
        self, query: str | None, extensions: Mapping[str, object] | None, role: Role | None,
        *, document_id: object = None,
    ) -> str | None:
        sha256 = requested_hash(extensions, document_id)
        restricted = self.settings.trusted_documents_only and role is not Role.ANALYST
        if sha256 is None:
            if restricted and not (isinstance(query, str) and self.trusted.admits(query)):
                raise not_trusted()
            return query
        if query is None or query == "":
            return await self._by_hash(sha256, restricted)
        if not isinstance(query, str):
            raise PersistedDocumentError("BAD_REQUEST", "query must be a string")
        if sha256_hex(query) != sha256:
            raise hash_mismatch()
        if sha256 in self.trusted:
            return query
        if restricted and not self.trusted.admits(query, sha256):
            raise not_trusted()
        await self._register(sha256, query)
        return query

    async def _by_hash(self, sha256: str, restricted: bool) -> str:
        text = self.trusted.text(sha256)
        if text is not None:
            return text
        text = await self._lookup(sha256)
        if text is None:
            raise not_found()
        if restricted and not self.trusted.admits(text, sha256):
            raise not_trusted()
        return text

    async def _lookup(self, sha256: str) -> str | None:
        try:
            text = await self.store.get(sha256)
        except (RedisError, OSError) as error:
            self._failing(error)
            return None
        self._recovered()
        return text

    async def _register(self, sha256: str, text: str) -> None:
        # Kept only if it is a document at all (anyone may register, anonymous requests
        # included) and of a size clients' documents have: the store's bytes stay bounded
        # by capacity x MAX_KEPT_DOCUMENT_BYTES. Anything else still runs, as text.
        too_large = len(text.encode("utf-8")) > min(self.settings.max_body_bytes, MAX_KEPT_DOCUMENT_BYTES)
        if too_large or not parses(text, max_tokens=self.settings.max_tokens):
            return
        try:
            await self.store.put(sha256, text)
        except (RedisError, OSError) as error:
            self._failing(error)
            return
        self._recovered()

    def _failing(self, error: Exception) -> None:
        # Once per outage, not once per request.
        if not self._store_failing:
            logger.warning("persisted query store unavailable, serving documents sent as text: %s", error)
        self._store_failing = True

    def _recovered(self) -> None:
        if self._store_failing:
            logger.info("persisted query store reachable again")
        self._store_failing = False


def _load_manifest(path: Path, settings: Settings) -> dict[str, str]:
    if not path.exists():
        if settings.trusted_documents_only:
            logger.warning("%s is missing: with trusted documents only, agents and admins can run nothing", path)
        return {}
    return manifest.load(path)
