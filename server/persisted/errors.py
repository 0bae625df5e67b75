"""The errors a persisted-document lookup answers with: a GraphQL error code, the message
clients look for, and the HTTP status Apollo's servers give it."""
from __future__ import annotations


class PersistedDocumentError(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        # A suggestion for the endpoint: Apollo Server answers PersistedQueryNotFound with
        # 200 (and Cache-Control: private, no-cache, must-revalidate), malformed requests
        # with 400; Apollo Router answers a document outside the safelist with 403.
        self.status = status


def not_found() -> PersistedDocumentError:
    # The exact message and code Apollo's PersistedQueryLink looks for before it resends
    # the operation with its text.
    return PersistedDocumentError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound", status=200)


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
