"""Targeted fan-out and idle subscriptions, in one round per target.

The clients (1,000 by default, in worker processes) are split into groups of 5, group j
watching conversation j with `ConversationEvents`. A round:

1. the server's RSS/PSS with no client connected;
2. connect every client; one warm-up message per conversation, repeated until each has
   reached its 5 clients (graphql-transport-ws has no subscribe acknowledgement);
3. **idle**: nothing is sent for `idle_seconds`; the server's CPU time over that window
   (utime + stime from /proc) and its RSS/PSS at the end;
4. **targeted**: the publisher sends `rate` messages per second, open loop, round-robin
   over the conversations (so `rate × 5` deliveries per second), for `seconds`; each
   message carries its send time and every (message, client) receipt is a latency sample;
5. wait until every receipt is in (or `drain_timeout`), collect.

For teaminbox a message is the signed inbound webhook (stored, then published); for the
baseline it is `POST /send/{conversation}` of a frame of the same shape."""
from __future__ import annotations

import asyncio
import functools
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import orjson

from bench.common.api import inbound_request
from bench.common.http import RawHTTP
from bench.common.paths import operation
from bench.common.process import cpu_seconds, memory_mb
from bench.common.rounds import check_published, frame_template
from bench.common.servers import Server
from bench.common.workers import READY_TIMEOUT, Workers, split, worker_config
from bench.realtime.common import log, open_loop

WARMUP_ATTEMPTS = 5
WARMUP_TIMEOUT = 5.0
SETTLE_SECONDS = 2.0
IDLE_SLICE_SECONDS = 5.0

Publish = Callable[[RawHTTP, str, int, int], Awaitable[None]]  # (http, tag, message index, conversation index)


@dataclass
class GroupTarget:
    name: str
    server: Server
    tokens: list[str]
    conversations: list[str]
    publish: Publish


@dataclass
class TargetedRound:
    latencies_ns: list[int] = field(default_factory=list)
    expected: int = 0
    received: int = 0
    sent: int = 0
    failed_sends: int = 0
    send_seconds: float = 0.0
    post_ns: list[int] = field(default_factory=list)
    lag_ns: list[int] = field(default_factory=list)
    connect_s: float = 0.0
    idle_seconds: float = 0.0
    idle_cpu_seconds: float = 0.0
    idle_slices: list[float] = field(default_factory=list)  # % of a core, per IDLE_SLICE_SECONDS
    rss_before: float = 0.0
    pss_before: float = 0.0
    rss_idle: float = 0.0
    pss_idle: float = 0.0
    errors: list[str] = field(default_factory=list)


def teaminbox_group_publisher(server: Server, phones: list[str]) -> Publish:
    async def publish(http: RawHTTP, tag: str, i: int, j: int) -> None:
        text = f"bench|{tag}|{i}|{time.monotonic_ns()}"
        check_published(*await http.post(*inbound_request(server.account_id, server.webhook_secret,
                                                          f"ext-{tag}-{i}", text, phones[j])))
    return publish


def baseline_group_publisher(conversations: list[str]) -> Publish:
    frames = [frame_template("conversation", "conversationEvents", c) for c in conversations]

    async def publish(http: RawHTTP, tag: str, i: int, j: int) -> None:
        frame = frames[j](f"bench|{tag}|{i}|{time.monotonic_ns()}")
        check_published(*await http.post(f"/send/{conversations[j]}", orjson.dumps(frame)))
    return publish


def subscribe_payload(conversation_id: str) -> dict:
    return {"query": operation("ConversationEvents"), "variables": {"conversationId": conversation_id}}


async def run_targeted_round(target: GroupTarget, group_size: int, rate: float, seconds: float,
                             idle_seconds: float, workers: int, connections: int = 16,
                             drain_timeout: float = 30.0) -> TargetedRound:
    tag = uuid.uuid4().hex[:8]
    conversations = target.conversations
    pid = target.server.process.pid
    result = TargetedRound()
    configs = []
    first = 0
    for count in split(len(conversations), workers):  # whole groups per worker: per_message = group_size
        watched = conversations[first:first + count]
        first += count
        configs.append(worker_config(
            target.server, target.tokens, count * group_size, tag,
            READY_TIMEOUT + idle_seconds + seconds + drain_timeout + 300, per_message=group_size,
            subscribes=[subscribe_payload(c) for c in watched for _ in range(group_size)],
            subscribe=None, deflate=True, connect_attempts=3))
    result.rss_before, result.pss_before = memory_mb(pid)
    pool = Workers()
    try:
        result.connect_s = await pool.connect(configs, target.name)
        log(f"      {len(conversations) * group_size} clients connected in {result.connect_s:.1f}s")
        await _warm_up(target, pool, tag)

        await asyncio.sleep(SETTLE_SECONDS)
        cpu_start, idle_start = cpu_seconds(pid), time.monotonic()
        slice_cpu, slice_start = cpu_start, idle_start
        while (left := idle_start + idle_seconds - time.monotonic()) > 0:
            await asyncio.sleep(min(IDLE_SLICE_SECONDS, left))
            now_cpu, now = cpu_seconds(pid), time.monotonic()
            result.idle_slices.append(100 * (now_cpu - slice_cpu) / (now - slice_start))
            slice_cpu, slice_start = now_cpu, now
        result.idle_cpu_seconds = slice_cpu - cpu_start
        result.idle_seconds = slice_start - idle_start
        result.rss_idle, result.pss_idle = memory_mb(pid)
        log(f"      idle {result.idle_seconds:.0f}s: {100 * result.idle_cpu_seconds / result.idle_seconds:.2f}% "
            f"of a core (per {IDLE_SLICE_SECONDS:g} s: {', '.join(f'{c:.1f}' for c in result.idle_slices)}), "
            f"RSS {result.rss_before:.0f} -> {result.rss_idle:.0f} MB")

        sent = await open_loop(target.server.port, connections, rate, seconds,
                               lambda http, i: target.publish(http, tag, i, i % len(conversations)))
        result.sent, result.failed_sends, result.send_seconds = sent.sent, sent.failed, sent.seconds
        result.post_ns, result.lag_ns = sent.post_ns, sent.lag_ns
        result.errors.extend(sent.errors)
        result.expected = (sent.sent - sent.failed) * group_size
        deadline = time.monotonic() + drain_timeout
        while True:  # the receipts are counted in the workers: ask them until all are in
            received = await pool.received_count()
            if received >= result.expected or time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.2)
        log(f"      sent {sent.sent} at {sent.rate:.0f}/s, {received}/{result.expected} receipts")
        await pool.stop()
    finally:
        await pool.close()
    result.latencies_ns.extend(pool.reported("latencies_ns"))
    result.errors.extend(pool.reported("errors"))
    result.received = len(result.latencies_ns)
    return result


async def _warm_up(target: GroupTarget, pool: Workers, tag: str) -> None:
    """One warm-up message per conversation, again for those that have not reached their
    group within WARMUP_TIMEOUT; message index -(attempt × conversations + j + 1)."""
    n = len(target.conversations)
    waiting = list(range(n))
    async with RawHTTP("127.0.0.1", target.server.port) as http:
        for attempt in range(WARMUP_ATTEMPTS):
            indices = {j: -(attempt * n + j + 1) for j in waiting}
            for j, index in indices.items():
                await target.publish(http, tag, index, j)
            await pool.wait(functools.partial(pool.reached, list(indices.values())), WARMUP_TIMEOUT)
            waiting = [j for j, i in indices.items() if not pool.done.get(i, 0)]
            if not waiting:
                return
    raise RuntimeError(f"{target.name}: warm-ups did not reach {len(waiting)} conversations' clients")
