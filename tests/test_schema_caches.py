"""Checks that the schema's caches work and that subscriptions do not leak per event."""
import asyncio
import functools
import gc
from collections.abc import AsyncGenerator
from typing import Any, cast

from graphql.execution.executor import Executor
from strawberry.extensions.validation_cache import _get_validate_cache

from schema.app import build_schema
from schema.graphql_core_fixes import _per_event_executor_with_own_memo


async def test_the_same_document_is_validated_once():
    # given
    schema = build_schema()
    # strawberry annotates this functools.lru_cache wrapper as a plain Callable
    cache = cast("functools._lru_cache_wrapper[Any]", _get_validate_cache(256))
    before = cache.cache_info()

    # when
    for _ in range(3):
        result = await schema.execute("query Probe { __typename }")
        assert result.errors is None

    # then
    after = cache.cache_info()
    assert after.misses - before.misses <= 1
    assert after.hits - before.hits >= 2


async def test_limits_still_reject_deep_documents():
    schema = build_schema(max_depth=1)
    result = await schema.execute("{ viewer { user { account { id } } } }")
    assert result.errors and "exceeds maximum operation depth" in result.errors[0].message


def test_per_event_executors_do_not_share_the_subfield_memo():
    assert Executor.build_per_event_executor is _per_event_executor_with_own_memo


async def test_a_subscription_keeps_no_memory_per_event():
    """graphql-core 3.3.2 kept ~3 KB per delivered event for the subscription's lifetime."""
    import strawberry

    @strawberry.type
    class Item:
        value: int

        @strawberry.field
        def double(self) -> int:
            return self.value * 2

    @strawberry.type
    class Query:
        ok: bool = True

    @strawberry.type
    class Subscription:
        @strawberry.subscription
        async def items(self, count: int) -> AsyncGenerator[Item, None]:
            for value in range(count):
                yield Item(value=value)
                await asyncio.sleep(0)

    schema = strawberry.Schema(query=Query, subscription=Subscription)

    stream = await schema.subscribe("subscription { items(count: 5000) { value double } }")

    async def objects_after(events: int) -> int:
        for _ in range(events):
            result = await stream.__anext__()
            assert result.errors is None
        gc.collect()
        return len(gc.get_objects())

    baseline = await objects_after(100)
    grown = await objects_after(2000)
    await stream.aclose()
    # Each event used to leave at least two objects behind while the subscription lived.
    assert grown - baseline < 500
