"""Typing signal across two instances: member A's `setTyping` on instance 1 (HTTP),
member B's `ConversationEvents` subscription on instance 2 (a worker process), through
PostgreSQL + a private Redis.

Signals alternate true/false, so each one changes the presence state and is announced
exactly once (a repeated `true` only refreshes the TTL and is, by design, not announced).
Each signal is closed-loop: the next leaves after the previous one's TypingChanged
arrived (or `signal_timeout`) and a short gap. Latency = receipt (the worker's
`data_received`) − the moment before the mutation's request was written.

The baseline, interleaved one for one with the signals in the same run: a PUBLISH on the
same Redis to a channel this process SUBSCRIBEs to (redis-py asyncio), receipt − publish.
It is the floor of any cross-instance signal carried by Redis pub/sub."""
from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import redis.asyncio as aioredis

from bench.common.http import RawHTTP
from bench.common.paths import operation
from bench.common.servers import Server, start_instance, start_teaminbox, teaminbox_env
from bench.common.workers import Workers, worker_config
from bench.realtime.common import log, postgres_and_redis
from bench.realtime.targeted import subscribe_payload

SET_TYPING = operation("SetTyping")
WARMUP_ATTEMPTS = 20


@dataclass
class TypingResult:
    latencies_ns: list[int] = field(default_factory=list)
    redis_ns: list[int] = field(default_factory=list)
    post_ns: list[int] = field(default_factory=list)
    signals: int = 0
    lost: int = 0
    redis_lost: int = 0
    errors: list[str] = field(default_factory=list)


async def _set_typing(http: RawHTTP, token: str, conversation_id: str, is_typing: bool) -> None:
    body = orjson.dumps({"query": SET_TYPING, "variables": {"conversationId": conversation_id, "isTyping": is_typing}})
    status, answer = await http.post("/graphql", body, {"Authorization": f"Bearer {token}"})
    if status != 200:
        raise RuntimeError(f"setTyping answered {status}: {answer[:300]!r}")
    data = orjson.loads(answer)
    if data.get("errors") or data["data"]["setTyping"]["userErrors"] or not data["data"]["setTyping"]["accepted"]:
        raise RuntimeError(f"setTyping failed: {answer[:300]!r}")


class RedisRoundTrip:
    """PUBLISH on one connection, SUBSCRIBE on another; receipt stamped by a reader task."""

    def __init__(self, url: str) -> None:
        self.publisher = aioredis.Redis.from_url(url)
        self.subscriber = aioredis.Redis.from_url(url)
        self.pubsub = self.subscriber.pubsub()
        self.channel = "bench:typing-baseline"
        self.received: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
        self.reader: asyncio.Task | None = None

    async def __aenter__(self) -> RedisRoundTrip:
        await self.pubsub.subscribe(self.channel)
        self.reader = asyncio.create_task(self._read())
        for attempt in range(WARMUP_ATTEMPTS):  # the first subscription may take a moment to be live
            await self.publisher.publish(self.channel, f"{-attempt - 1}|{time.monotonic_ns()}")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.received.get(), 0.5)
                break
        while not self.received.empty():
            self.received.get_nowait()
        return self

    async def _read(self) -> None:
        while True:
            message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is not None:
                at = time.monotonic_ns()
                index, sent = message["data"].split(b"|")
                self.received.put_nowait((int(index), at - int(sent)))

    async def once(self, i: int, timeout: float) -> int | None:
        await self.publisher.publish(self.channel, f"{i}|{time.monotonic_ns()}")
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                index, latency = await asyncio.wait_for(self.received.get(), left)
            except TimeoutError:
                return None
            if index == i:
                return latency
        return None

    async def __aexit__(self, *exc) -> None:
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader
        with contextlib.suppress(Exception):
            await self.pubsub.aclose()
            await self.subscriber.aclose()
            await self.publisher.aclose()


async def run_typing(workdir: Path, postgres_base: str, signals: int, gap: float = 0.02,
                     signal_timeout: float = 2.0) -> TypingResult:
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    result = TypingResult()
    async with postgres_and_redis(postgres_base) as (database_url, redis_url):
        servers: list[Server] = []
        pool = Workers()
        try:
            # Instance 1 is started and seeded by the fan-out helper (admin + agents A and B,
            # one conversation); instance 2 shares its database and Redis.
            servers.append(await start_teaminbox(workdir, database_url, redis_url, members=2))
            servers.append(await start_instance("teaminbox-2", teaminbox_env(database_url, redis_url), workdir))
            first, second = servers
            await asyncio.gather(first.wait_readyz(), second.wait_readyz())
            token_a, token_b = first.tokens[1], first.tokens[2]
            conversation = first.conversation_id
            await pool.start([worker_config(second, [token_b], 1, "typing", 300 + signals * (2 * signal_timeout + gap),
                                            subscribe=subscribe_payload(conversation), deflate=True,
                                            connect_attempts=3, report_typing=True)])
            if not await pool.wait(lambda: len(pool.ready) == 1 and pool.ready[0]["ready"] == 1, 60):
                raise RuntimeError(f"typing subscriber did not connect: {pool.ready}")
            async with RawHTTP("127.0.0.1", first.port) as http, RedisRoundTrip(redis_url) as redis_rtt:
                state = await _warm_up(http, pool, token_a, conversation)
                for i in range(signals):
                    latency = await redis_rtt.once(i, signal_timeout)
                    if latency is None:
                        result.redis_lost += 1
                    else:
                        result.redis_ns.append(latency)
                    state = not state
                    seen = len(pool.typing)  # a late straggler has the other state: it does not match
                    sent = time.monotonic_ns()
                    await _set_typing(http, token_a, conversation, state)
                    result.post_ns.append(time.monotonic_ns() - sent)
                    result.signals += 1
                    if await pool.wait(functools.partial(_arrived, pool, seen, state), signal_timeout):
                        result.latencies_ns.append(pool.typing[-1][1] - sent)
                    else:
                        result.lost += 1
                    await asyncio.sleep(gap)
                await _set_typing(http, token_a, conversation, False)
            await pool.stop()
            for report in pool.results:
                result.errors.extend(report["errors"])
        except BaseException:
            for server in servers:
                log(f"--- {server.name} log (tail) ---\n{server.log_tail()}")
            raise
        finally:
            await pool.close()
            for server in servers:
                await server.stop()
    log(f"      {result.signals} typing signals, {len(result.latencies_ns)} received, {result.lost} lost")
    return result


def _arrived(pool: Workers, seen: int, state: bool | None = None) -> bool:
    """A TypingChanged arrived after the first `seen` (and announces `state`, unless None)."""
    return len(pool.typing) > seen and (state is None or pool.typing[-1][0] == state)


async def _warm_up(http: RawHTTP, pool: Workers, token: str, conversation: str) -> bool:
    """Signal until one TypingChanged reaches the subscriber (it is live some time after
    `subscribe`); returns the state the presence store is left in."""
    state = False
    for _ in range(WARMUP_ATTEMPTS):
        state = not state
        seen = len(pool.typing)
        await _set_typing(http, token, conversation, state)
        if await pool.wait(functools.partial(_arrived, pool, seen), 1.0):
            await asyncio.sleep(0.2)  # let any straggler from an earlier attempt arrive first
            return state
    raise RuntimeError("no typing signal reached the subscriber on the other instance")
