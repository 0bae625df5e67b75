"""Assembles the Strawberry schema with its limits and error masking."""
from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    MaskErrors, MaxAliasesLimiter, MaxTokensLimiter, ParserCache, QueryDepthLimiter, ValidationCache,
)

from schema.errors import QueryError
from schema.mutations import Mutation
from schema.query import Query
from schema.subscription import Subscription


def _is_unexpected(error: GraphQLError) -> bool:
    """Mask bugs and internal exceptions; keep coded domain errors and document errors
    (syntax, validation, limits), which carry no original exception."""
    original = error.original_error
    return original is not None and not isinstance(original, QueryError)


def build_schema(*, max_depth: int = 12, max_aliases: int = 30, max_tokens: int = 5000) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            lambda: MaxTokensLimiter(max_token_count=max_tokens),
            lambda: QueryDepthLimiter(max_depth=max_depth),
            lambda: MaxAliasesLimiter(max_alias_count=max_aliases),
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
            lambda: MaskErrors(should_mask_error=_is_unexpected, error_message="Internal server error"),
        ],
    )
