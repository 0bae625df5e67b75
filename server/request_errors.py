"""Requests that cannot run, over HTTP and WebSocket alike: a GraphQL error with a code
(`{"errors": [{"message", "extensions": {"code"}}]}`, no `data`), never a plain-text body
or a masked "Internal server error".

The codes are the ones Apollo Server and GraphQL Yoga send, so clients that branch on
them (Apollo's persisted-query link among them) understand ours."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum

from cross_web import HTTPException  # what Strawberry raises for a request it refuses
from graphql import GraphQLError, GraphQLSyntaxError

from schema.errors import VALIDATION_FAILED


class RequestErrorCode(str, Enum):
    BAD_REQUEST = "BAD_REQUEST"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = VALIDATION_FAILED
    BAD_USER_INPUT = "BAD_USER_INPUT"  # variables the document's types reject
    OPERATION_RESOLUTION_FAILURE = "OPERATION_RESOLUTION_FAILURE"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    NOT_ACCEPTABLE = "NOT_ACCEPTABLE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"


class RequestError(HTTPException):
    """A request refused before it runs. `status` is its HTTP status; `json_status` the
    one a legacy `application/json` client gets: the GraphQL-over-HTTP spec keeps 200
    there for a well-formed request whose document cannot run (it does not parse or
    validate, names no single operation, names an unknown persisted document), and 4xx
    for the rest (not well-formed, a method or transport that does not carry it)."""

    def __init__(
        self, message: str, code: str, *, status: int = 400, json_status: int | None = None,
        headers: Mapping[str, str] | None = None, located: GraphQLError | None = None,
    ):
        super().__init__(status, message)
        self.message = message
        self.code = code
        self.json_status = status if json_status is None else json_status
        self.headers = dict(headers or {})
        self.located = located  # where in the document it went wrong (a syntax error)

    def formatted(self) -> dict[str, object]:
        return dict(self.as_graphql_error().formatted)

    def as_graphql_error(self) -> GraphQLError:
        at = self.located
        if at is None:
            return GraphQLError(self.message, extensions={"code": self.code})
        return GraphQLError(
            self.message, source=at.source, positions=at.positions, extensions={"code": self.code}
        )


def from_http_exception(error: HTTPException) -> RequestError:
    """What Strawberry's own refusals (bad JSON, wrong content type, bad `variables`,
    a method it does not serve) become."""
    if isinstance(error, RequestError):
        return error
    if error.status_code == 405:
        return RequestError(
            "GraphQL is served over GET (queries) and POST", RequestErrorCode.METHOD_NOT_ALLOWED,
            status=405, headers={"Allow": "GET, POST"},
        )
    if error.reason == "Unsupported content type":
        return RequestError(
            "Send the request as application/json", RequestErrorCode.UNSUPPORTED_MEDIA_TYPE, status=415
        )
    return RequestError(error.reason, RequestErrorCode.BAD_REQUEST, status=error.status_code)


def with_request_codes(errors: Sequence[GraphQLError]) -> list[GraphQLError]:
    """The errors of a request that did not run, each with a code. Validation errors
    have theirs (GRAPHQL_VALIDATION_FAILED, given by the schema where validation runs:
    schema/app.py); a syntax error (or a document over the token limit) is
    GRAPHQL_PARSE_FAILED; what is left was found while starting execution: variables
    the document's types reject, BAD_USER_INPUT."""
    coded: list[GraphQLError] = []
    for error in errors:
        if error.extensions and "code" in error.extensions:
            coded.append(error)
            continue
        if isinstance(error, GraphQLSyntaxError):
            code = RequestErrorCode.GRAPHQL_PARSE_FAILED
        else:
            code = RequestErrorCode.BAD_USER_INPUT
        coded.append(GraphQLError(
            error.message, nodes=error.nodes, source=error.source, positions=error.positions, path=error.path,
            original_error=error.original_error, extensions={**(error.extensions or {}), "code": code.value},
        ))
    return coded
