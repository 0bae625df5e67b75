"""schema/multiplex.py in-process: who shares an event's execution, and what it costs.

A small schema of its own whose resolvers count their calls, fed the same root object
for every subscriber as the account feed does."""
from __future__ import annotations

import asyncio
import gc
from collections import Counter
from collections.abc import AsyncGenerator
from typing import Any

import strawberry

from schema import multiplex
from schema.multiplex import MultiplexingExecutor

calls: Counter[str] = Counter()
gate: dict[str, asyncio.Event] = {}


@strawberry.type
class Item:
    value: int

    @strawberry.field
    async def double(self) -> int:
        calls["double"] += 1
        if "double" in gate:
            await gate["double"].wait()
        return self.value * 2

    @strawberry.field
    def timeline(self, info: strawberry.Info) -> int:  # named like a field that reads the context
        calls["timeline"] += 1
        return self.value + info.context["offset"]


@strawberry.type
class Query:
    ok: bool = True


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def items(self, info: strawberry.Info, channel: str) -> AsyncGenerator[Item, None]:
        while True:
            yield await info.context["queue"].get()


SCHEMA = strawberry.Schema(query=Query, subscription=Subscription, execution_context_class=MultiplexingExecutor)
SHARED = "subscription($c: String!) { items(channel: $c) { value double } }"
DOUBLE_IF = "subscription($c: String!, $d: Boolean!) { items(channel: $c) { value double @include(if: $d) } }"
TIMELINE = 'subscription { items(channel: "t") { value timeline } }'


class Sub:
    def __init__(self, document: str, variables: dict | None = None, offset: int = 0):
        self.document, self.variables = document, variables
        self.queue: asyncio.Queue[Item] = asyncio.Queue()
        self.context: dict[str, Any] = {"queue": self.queue, "offset": offset}

    async def start(self) -> Sub:
        self.stream = await SCHEMA.subscribe(self.document, variable_values=self.variables, context_value=self.context)
        return self

    async def receive(self, item: Item):
        self.queue.put_nowait(item)
        return await self.stream.__anext__()

    async def close(self) -> None:
        await self.stream.aclose()


async def test_subscribers_of_the_same_selection_share_one_execution():
    # given
    calls.clear()
    specs: list[tuple[str, dict | None, int]] = [
        (SHARED, {"c": "a"}, 0), (SHARED, {"c": "b"}, 0), (SHARED, {"c": "c"}, 0),  # root arguments differ only
        (DOUBLE_IF, {"c": "a", "d": True}, 0), (DOUBLE_IF, {"c": "z", "d": True}, 0),
        (DOUBLE_IF, {"c": "a", "d": False}, 0),
        (TIMELINE, None, 10), (TIMELINE, None, 20),
    ]
    subs = [await Sub(*spec).start() for spec in specs]
    item = Item(value=21)

    # when: every subscriber receives the same event object
    results = await asyncio.gather(*(sub.receive(item) for sub in subs))

    # then
    assert all(result.errors is None for result in results)
    assert [result.data["items"] for result in results] == [
        {"value": 21, "double": 42}, {"value": 21, "double": 42}, {"value": 21, "double": 42},
        {"value": 21, "double": 42}, {"value": 21, "double": 42}, {"value": 21},
        {"value": 21, "timeline": 31}, {"value": 21, "timeline": 41},
    ]
    assert results[0].data is results[1].data is results[2].data  # one result, serialised once later
    assert results[3].data is results[4].data
    assert calls == {"double": 2, "timeline": 2}  # reading the context: each its own

    # and a new event is executed anew
    fresh = Item(value=1)
    results = await asyncio.gather(*(sub.receive(fresh) for sub in subs[:3]))
    assert [result.data["items"]["double"] for result in results] == [2, 2, 2]
    assert calls["double"] == 3
    for sub in subs:
        await sub.close()


async def test_a_subscriber_leaving_mid_execution_does_not_cancel_it_for_the_others():
    # given: two subscribers waiting on the same execution
    calls.clear()
    gate["double"] = asyncio.Event()
    try:
        leaving, staying = [await Sub(SHARED, {"c": name}).start() for name in ("leaving", "staying")]
        item = Item(value=5)
        first = asyncio.create_task(leaving.receive(item))
        second = asyncio.create_task(staying.receive(item))
        await asyncio.sleep(0.01)

        # when: the one that started it goes away, then the resolver finishes
        first.cancel()
        gate["double"].set()

        # then
        assert (await asyncio.wait_for(second, 5)).data == {"items": {"value": 5, "double": 10}}
        assert first.cancelled()
        assert calls["double"] == 1
        await staying.close()
    finally:
        del gate["double"]


async def test_shared_results_keep_bounded_memory():
    """The results of past events are dropped past a bound; graphql-core's per-event memo
    stays per event (schema/graphql_core_fixes.py) on the path that still executes."""
    sub = await Sub(SHARED, {"c": "memory"}).start()
    private = await Sub(TIMELINE).start()

    async def objects_after(events: int) -> int:
        for value in range(events):
            item = Item(value=value)
            assert (await sub.receive(item)).errors is None
            assert (await private.receive(item)).errors is None
        gc.collect()
        return len(gc.get_objects())

    baseline = await objects_after(multiplex._MAX_RESULTS + 200)  # the cache is full from here on
    grown = await objects_after(2000)
    assert len(multiplex._results) <= multiplex._MAX_RESULTS
    assert grown - baseline < 500
    await sub.close()
    await private.close()
