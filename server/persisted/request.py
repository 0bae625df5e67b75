"""Which persisted document a request names: Apollo's `extensions.persistedQuery`
(`{"version": 1, "sha256Hash": "<hex>"}`) or the GraphQL-over-HTTP persisted documents
proposal's `documentId` (`"sha256:<hex>"`). Anything malformed is a PersistedDocumentError,
never another exception: these values come straight from a client's JSON."""
from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from server.persisted.errors import PersistedDocumentError, bad_request

_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
_DOCUMENT_ID_PREFIX = "sha256:"


def sha256_hex(text: str) -> str:
    """The hex SHA-256 of the text's UTF-8 bytes, as Apollo's link and manifests compute it."""
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, which a JSON \uD800 escape can carry
        raise bad_request("the document is not valid Unicode text") from None
    return hashlib.sha256(encoded).hexdigest()


def requested_hash(extensions: object, document_id: object) -> str | None:
    """The lowercase hex SHA-256 the request names, or None when it names none."""
    from_extensions = _persisted_query_hash(extensions)
    from_id = _document_id_hash(document_id)
    if from_extensions is not None and from_id is not None and from_extensions != from_id:
        raise bad_request("documentId and extensions.persistedQuery.sha256Hash name different documents")
    return from_extensions if from_extensions is not None else from_id


def _persisted_query_hash(extensions: object) -> str | None:
    if extensions is None:
        return None
    if not isinstance(extensions, Mapping):
        raise bad_request("extensions must be an object")
    persisted = extensions.get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, Mapping):
        raise bad_request("extensions.persistedQuery must be an object")
    version = persisted.get("version")
    # bool is an int in Python; `true` is not version 1.
    if isinstance(version, bool) or version != 1:
        raise bad_request("Unsupported persisted query version")
    return _hex(persisted.get("sha256Hash"), "extensions.persistedQuery.sha256Hash")


def _document_id_hash(document_id: object) -> str | None:
    if document_id is None:
        return None
    if not isinstance(document_id, str) or not document_id.startswith(_DOCUMENT_ID_PREFIX):
        raise PersistedDocumentError(
            "BAD_REQUEST", 'documentId must be "sha256:" followed by the document\'s SHA-256 in hex'
        )
    return _hex(document_id[len(_DOCUMENT_ID_PREFIX):], "documentId")


def _hex(value: object, where: str) -> str:
    if not isinstance(value, str) or not _SHA256_HEX.fullmatch(value):
        raise bad_request(f"{where} must be a SHA-256 hash: 64 hexadecimal digits")
    return value.lower()
