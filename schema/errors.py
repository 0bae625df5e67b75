"""Expected failures: `userErrors` on mutation payloads, coded errors on queries."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry
from graphql import GraphQLError

from resolvers.errors import DomainError, ErrorCode

# Registered in place: `ErrorCode` is the resolvers' enum, published under the same name.
strawberry.enum(ErrorCode, name="ErrorCode", description="Why a request could not be done.")

T = TypeVar("T")

# The code of a document's validation errors (graphql-core's rules and our limits), as
# Apollo Server and GraphQL Yoga send it.
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
# The code of a value graphql-core refused for an argument as its field ran (Apollo's).
BAD_USER_INPUT = "BAD_USER_INPUT"


@strawberry.type(description="An expected failure: what went wrong and, where it applies, which argument.")
class UserError:
    code: ErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="Human-readable explanation, safe to show.")
    field: str | None = strawberry.field(description="The argument or input field at fault, if any.")
    retry_after_seconds: int | None = strawberry.field(
        default=None, description="For TOO_MANY_ATTEMPTS: whole seconds to wait before trying again."
    )

    @classmethod
    def from_error(cls, error: DomainError) -> UserError:
        return cls(code=error.code, message=error.message, field=error.field, retry_after_seconds=error.retry_after)


class QueryError(GraphQLError):
    """A DomainError raised from a query: a top-level error with `extensions.code`.
    Passes through error masking, unlike unexpected exceptions."""

    def __init__(self, error: DomainError):
        extensions: dict[str, object] = {"code": error.code.value}
        if error.field:
            extensions["field"] = error.field
        if error.retry_after is not None:
            extensions["retryAfterSeconds"] = error.retry_after
        super().__init__(error.message, extensions=extensions)


async def run_query(action: Callable[[], Awaitable[T]]) -> T:
    try:
        return await action()
    except DomainError as error:
        raise QueryError(error) from None
