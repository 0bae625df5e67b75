"""Saturated broadcast fan-out: how many deliveries per second a server sustains when
every message goes to all N (1,000) subscribers of one conversation.

A round connects N clients (worker processes) to one conversation, warms up until a
message reaches all of them, then `window` publisher loops run for `seconds`, each
closed-loop: post a message, wait until every client has it, post the next. So `window`
messages are always in flight and the server never idles, yet nothing queues without
bound (teaminbox's per-subscriber queues stay far below their limit). Throughput =
receipts counted by the workers between the start and the end of the window ÷ its length
(each worker is asked for its count at both ends). The per-delivery latency under this
load is reported too."""
from __future__ import annotations

import asyncio
import contextlib
import functools
import time
import uuid
from dataclasses import dataclass, field

from bench.common.http import RawHTTP
from bench.common.rounds import Target, warm_up
from bench.common.workers import READY_TIMEOUT, Workers, split, worker_config
from bench.realtime.common import log


@dataclass
class BroadcastRound:
    deliveries: int = 0
    seconds: float = 0.0
    messages: int = 0  # posted during the window
    stalled: int = 0  # messages not fully delivered within message_timeout
    latencies_ns: list[int] = field(default_factory=list)
    connect_s: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.deliveries / self.seconds if self.seconds > 0 else float("nan")


async def run_broadcast_round(target: Target, clients: int, seconds: float, window: int, workers: int,
                              message_timeout: float = 30.0) -> BroadcastRound:
    tag = uuid.uuid4().hex[:8]
    configs = [worker_config(target.server, target.tokens, n, tag, READY_TIMEOUT + seconds + 2 * message_timeout + 300,
                             subscribe=target.subscribe, deflate=True, connect_attempts=3)
               for n in split(clients, workers)]
    result = BroadcastRound()
    pool = Workers()
    try:
        result.connect_s = await pool.connect(configs, target.name)
        log(f"      {clients} clients connected in {result.connect_s:.1f}s")
        async with RawHTTP("127.0.0.1", target.server.port) as http:
            await warm_up(target, pool, http, tag)
        await asyncio.sleep(1.0)

        counter = iter(range(10**9))
        stop_at = 0.0

        async def loop(http: RawHTTP) -> None:
            while time.monotonic() < stop_at:
                i = next(counter)
                await target.publish(http, tag, i)
                result.messages += 1
                if not await pool.wait(functools.partial(pool.all_received, i), message_timeout):
                    result.stalled += 1

        async with contextlib.AsyncExitStack() as stack:
            https = [await stack.enter_async_context(RawHTTP("127.0.0.1", target.server.port))
                     for _ in range(window)]
            asked_start = time.monotonic()  # both counts are asked for the same way: their delays cancel
            start_count = await pool.received_count()
            stop_at = time.monotonic() + seconds
            loops = [asyncio.create_task(loop(http)) for http in https]
            await asyncio.sleep(seconds)
            asked_end = time.monotonic()
            end_count = await pool.received_count()
            result.seconds = asked_end - asked_start
            result.deliveries = end_count - start_count
            await asyncio.wait(loops, timeout=message_timeout + 30)
            for task in loops:
                if not task.done():
                    task.cancel()
                elif task.exception() is not None:
                    result.errors.append(f"publisher: {task.exception()!r}"[:300])
        log(f"      {result.messages} messages, {result.deliveries} deliveries in {result.seconds:.1f}s "
            f"= {result.rate:,.0f}/s")
        await pool.stop()
    finally:
        await pool.close()
    result.latencies_ns.extend(pool.reported("latencies_ns"))
    result.errors.extend(pool.reported("errors"))
    return result
