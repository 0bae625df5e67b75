"""Assembles the Strawberry schema with its limits and error masking."""
from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules, MaskErrors, MaxAliasesLimiter, MaxTokensLimiter, ParserCache, QueryDepthLimiter,
    ValidationCache,
)

import schema.graphql_core_fixes  # noqa: F401  (applies the subscription memory-leak fix)
from schema.errors import QueryError
from schema.mutations import Mutation
from schema.query import Query
from schema.subscription import Subscription


def _is_unexpected(error: GraphQLError) -> bool:
    """Mask bugs and internal exceptions; keep coded domain errors and document errors
    (syntax, validation, limits), which carry no original exception, and variable values
    the document's types reject ("Int cannot represent 2147483648"): those are reported
    before execution (no path) and wrap graphql-core's own error."""
    original = error.original_error
    if original is None or isinstance(original, QueryError):
        return False
    return not (error.path is None and isinstance(original, GraphQLError))


def build_schema(*, max_depth: int = 12, max_aliases: int = 30, max_tokens: int = 5000) -> strawberry.Schema:
    # The limit rules are built once: the validation cache's key includes the rule classes,
    # and QueryDepthLimiter/MaxAliasesLimiter make new classes per instance, so building
    # them per request would make every request miss the cache.
    limit_rules = [
        *QueryDepthLimiter(max_depth=max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules,
    ]
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            lambda: MaxTokensLimiter(max_token_count=max_tokens),
            lambda: AddValidationRules(limit_rules),
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
            lambda: MaskErrors(should_mask_error=_is_unexpected, error_message="Internal server error"),
        ],
    )
