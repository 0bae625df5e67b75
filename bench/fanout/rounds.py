"""One measurement round of bench.fanout: N clients (in worker processes) subscribe to one
target, the publisher sends warm-ups until every client has one, then `messages` timed
messages.

Pacing is closed-loop: message i+1 leaves no sooner than 1/rate after message i *and*
not before every client has received message i (or `message_timeout` passed), so the
numbers are latency, not queueing behind a saturated server."""
from __future__ import annotations

import asyncio
import functools
import sys
import time
import uuid
from dataclasses import dataclass, field

from bench.common.http import RawHTTP
from bench.common.rounds import WARMUP_TIMEOUT, WARMUPS, Target, warm_up
from bench.common.workers import READY_TIMEOUT, Workers, split, worker_config


@dataclass
class RoundResult:
    latencies_ns: list[int] = field(default_factory=list)
    fanout_ns: list[int] = field(default_factory=list)  # per message: until the last client had it
    post_ns: list[int] = field(default_factory=list)  # publisher's HTTP round trip
    connect_s: float = 0.0  # until every client had connection_ack and had sent subscribe
    frame_bytes: int = 0
    expected: int = 0
    timeouts: int = 0
    errors: list[str] = field(default_factory=list)


async def run_round(target: Target, clients: int, messages: int, rate: float, workers: int,
                    deflate: bool, message_timeout: float) -> RoundResult:
    tag = uuid.uuid4().hex[:8]
    interval = 1.0 / rate
    deadline = READY_TIMEOUT + WARMUPS * WARMUP_TIMEOUT + messages * (interval + message_timeout) + 60
    configs = [worker_config(target.server, target.tokens, n, tag, deadline, subscribe=target.subscribe,
                             deflate=deflate)
               for n in split(clients, workers)]
    result = RoundResult(expected=clients * messages)
    pool = Workers()
    try:
        result.connect_s = await pool.connect(configs, target.name)
        print(f"    connected in {result.connect_s:.1f}s", file=sys.stderr, flush=True)
        async with RawHTTP("127.0.0.1", target.server.port) as http:
            await warm_up(target, pool, http, tag)
            for i in range(messages):
                started = time.monotonic()
                sent_ns = time.monotonic_ns()
                await target.publish(http, tag, i)
                result.post_ns.append(time.monotonic_ns() - sent_ns)
                if not await pool.wait(functools.partial(pool.all_received, i), message_timeout):
                    result.timeouts += 1
                await asyncio.sleep(max(0.0, started + interval - time.monotonic()))
        await pool.stop()
    finally:
        await pool.close()
    by_message: dict[str, int] = {}  # JSON keys: message index as text
    for report in pool.results:
        result.latencies_ns.extend(report["latencies_ns"])
        result.frame_bytes = max(result.frame_bytes, report["frame_bytes"])
        result.errors.extend(report["errors"])
        for index, worst in report["max_ns"].items():
            by_message[index] = max(by_message.get(index, 0), worst)
    result.fanout_ns = [by_message[i] for i in sorted(by_message, key=int)]
    return result
