"""Assembles the Strawberry schema with its limits and error masking."""
from __future__ import annotations

from collections.abc import Iterator

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.types import ExecutionContext

import schema.graphql_core_fixes  # noqa: F401  (applies the subscription memory-leak fix)
from models.db import DATABASE_UNAVAILABLE
from resolvers.errors import UNAVAILABLE_MESSAGE, ErrorCode
from schema.errors import BAD_USER_INPUT, VALIDATION_FAILED, QueryError
from schema.multiplex import MultiplexingExecutor
from schema.mutations import Mutation
from schema.query import Query
from schema.subscription import Subscription


def _is_unexpected(error: GraphQLError) -> bool:
    """Mask bugs and internal exceptions; keep coded domain errors, document errors
    (syntax, validation, limits), which carry no original exception, and graphql-core's
    own refusals of a value, which wrap a GraphQLError of no exception of its own:
    variable values the document's types reject ("Int cannot represent 2147483648"),
    before execution, and an argument's value refused as its field runs (null from a
    nullable variable for a non-null argument that has a default, which validation
    allows)."""
    original = error.original_error
    if original is None or isinstance(original, QueryError):
        return False
    return not (isinstance(original, GraphQLError) and (error.path is None or original.original_error is None))


def _is_refused_argument(error: GraphQLError) -> bool:
    original = error.original_error
    return error.path is not None and isinstance(original, GraphQLError) and original.original_error is None


class _MaskErrors(MaskErrors):
    """Strawberry looks for errors with an isinstance against a runtime-checkable
    Protocol, slow enough to show in profiles once per subscriber per event; a result
    without errors needs no look at all.

    A resolver that met an unreachable database is not a bug: its error says UNAVAILABLE
    (the HTTP endpoint answers such a result 503 with Retry-After, as it does when the
    database fails before any resolver runs)."""

    def _process_result(self, result: object) -> None:
        errors = getattr(result, "errors", None)
        if errors:
            super()._process_result(result)
            for error in errors:
                if _is_refused_argument(error) and not (error.extensions or {}).get("code"):
                    error.extensions = {**(error.extensions or {}), "code": BAD_USER_INPUT}

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        if not isinstance(error.original_error, DATABASE_UNAVAILABLE):
            return super().anonymise_error(error)
        return GraphQLError(
            UNAVAILABLE_MESSAGE, nodes=error.nodes, source=error.source, positions=error.positions, path=error.path,
            extensions={"code": ErrorCode.UNAVAILABLE.value},
        )


class _CodeValidationErrors(SchemaExtension):
    """Give validation errors their code where they are known to be validation errors:
    later (a subscription's first result, say) they look like any other error found
    before execution, such as variables the document's types reject."""

    def on_validate(self) -> Iterator[None]:
        yield
        for error in self.execution_context.pre_execution_errors or ():
            if not (error.extensions or {}).get("code"):
                error.extensions = {**(error.extensions or {}), "code": VALIDATION_FAILED}


class _Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Log what is a failure of ours (the errors masked in the answer, and a database
        out of reach), with its traceback. Strawberry would log every error it answers,
        a client's bad document, a "not found" or a plan's refusal alike, each with a
        traceback: answers, not failures, which would bury the failures in the log."""
        super().process_errors([error for error in errors if _is_unexpected(error)], execution_context)


def build_schema(
    *, max_depth: int = 12, max_aliases: int = 30, max_tokens: int = 5000, multiplex: bool = True
) -> strawberry.Schema:
    """`multiplex=False` executes every subscriber's events on its own, as graphql-core
    does: the reference the multiplexed execution is tested against."""
    # The limit rules are built once: the validation cache's key includes the rule classes,
    # and QueryDepthLimiter/MaxAliasesLimiter make new classes per instance, so building
    # them per request would make every request miss the cache.
    limit_rules = [
        *QueryDepthLimiter(max_depth=max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules,
    ]
    return _Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        # Subscribers of an event who select the same thing share one execution of it.
        execution_context_class=MultiplexingExecutor if multiplex else None,
        extensions=[
            lambda: MaxTokensLimiter(max_token_count=max_tokens),
            lambda: AddValidationRules(limit_rules),
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
            _CodeValidationErrors,
            lambda: _MaskErrors(should_mask_error=_is_unexpected, error_message="Internal server error"),
        ],
    )
