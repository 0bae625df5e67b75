"""The errors a persisted-document lookup answers with: a GraphQL error code, the message
clients look for, and the HTTP status it takes under application/graphql-response+json
(a legacy application/json client gets 200, like any well-formed request)."""
from __future__ import annotations


class PersistedDocumentError(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        # Apollo Router's statuses: an unknown hash 404, a document outside the safelist
        # 403, a malformed request 400. (Apollo Server answers an unknown hash with 200;
        # Apollo's link resends the text after either.)
        self.status = status


def not_found() -> PersistedDocumentError:
    # The exact message and code Apollo's PersistedQueryLink looks for before it resends
    # the operation with its text.
    return PersistedDocumentError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound", status=404)


def bad_request(message: str) -> PersistedDocumentError:
    return PersistedDocumentError("BAD_REQUEST", message)


def hash_mismatch() -> PersistedDocumentError:
    # Apollo Server's message; a code of its own so a client can tell it from other 400s.
    return PersistedDocumentError("PERSISTED_QUERY_HASH_MISMATCH", "provided sha does not match query")


def not_trusted() -> PersistedDocumentError:
    # Apollo Router's code for a document outside its safelist.
    return PersistedDocumentError(
        "PERSISTED_QUERY_NOT_IN_LIST",
        "Only trusted documents are accepted from this token: send a document of "
        "graphql/persisted-documents.json (by its sha256 hash or its exact text)",
        status=403,
    )
