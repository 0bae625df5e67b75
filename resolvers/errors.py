"""The one way resolvers report an expected failure; schema/ maps it to userErrors."""
from __future__ import annotations

import re
from enum import Enum


class ErrorCode(str, Enum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    FEATURE_NOT_IN_PLAN = "FEATURE_NOT_IN_PLAN"
    ASSIGNMENT_CONFLICT = "ASSIGNMENT_CONFLICT"
    VALIDATION = "VALIDATION"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    UNAVAILABLE = "UNAVAILABLE"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
    RECIPIENT_OPTED_OUT = "RECIPIENT_OPTED_OUT"


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

# What a client is told while the database cannot be reached (HTTP 503, or a GraphQL error
# coded UNAVAILABLE where no status can say it).
UNAVAILABLE_MESSAGE = "The service is temporarily unavailable; try again shortly."


class DomainError(Exception):
    """An expected failure: its code, a message safe to show, and the argument at fault."""

    def __init__(self, code: ErrorCode, message: str, field: str | None = None, *, retry_after: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        # Whole seconds to wait before trying again (TOO_MANY_ATTEMPTS).
        self.retry_after = retry_after


def not_found(what: str, field: str | None = None) -> DomainError:
    return DomainError(ErrorCode.NOT_FOUND, f"{what} not found", field)


def validation(message: str, field: str | None = None) -> DomainError:
    return DomainError(ErrorCode.VALIDATION, message, field)


def storable_text(text: str, field: str | None) -> str:
    """Text every backend can store, refused alike on each: PostgreSQL text cannot hold NUL
    characters, and a lone surrogate (JSON's "\\ud800") is no character at all: it
    cannot be encoded to UTF-8 for the database, the hasher or a response."""
    if "\x00" in text:
        raise validation("Text must not contain NUL characters", field)
    if _LONE_SURROGATE.search(text):
        raise validation("Text must be valid Unicode (it holds a lone surrogate)", field)
    return text


def is_storable(text: str) -> bool:
    """What storable_text accepts, for callers that must not say why (a login)."""
    return "\x00" not in text and not _LONE_SURROGATE.search(text)
