"""Connection slots shared by every instance through Redis (a redis:// bus).

Key: `{prefix}:{user id}`, a sorted set of leases, `<instance>:<socket>` -> expiry (ms,
Redis' TIME, so instance clocks need not agree). A lease counts while its expiry is in
the future. The instance holding a socket refreshes its lease every `refresh_seconds`
while the socket is open and removes it when the socket closes; an instance that dies
refreshes nothing, so its leases lapse within `lease_seconds` and stop counting. The key
itself expires with its last lease, so members who left leave nothing behind.

Acquiring is one script (drop lapsed leases, count, add), so two instances admitting the
same member at once cannot both take the last slot.

Redis unreachable: the socket is admitted (a member keeps working through a Redis outage,
as they do without typing indicators; refusing everyone would turn an outage of a
safeguard into an outage of the product), with one warning per outage. Sockets admitted
meanwhile are held locally, and the next refresh that reaches Redis registers them (the
count may then exceed the limit until some close; new sockets are refused meanwhile).
A release that cannot reach Redis lapses within `lease_seconds`. Assumes a standalone
Redis, like the bus.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import os
import secrets

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from server.connection_limits import Slot

logger = logging.getLogger(__name__)

LEASE_SECONDS = 30.0
# A connection_init waits at most about this long for Redis (twice: one retry, for a
# pooled connection Redis dropped when it restarted; every command here is idempotent).
REDIS_TIMEOUT_SECONDS = 1.0

_NOW_MS = """
local clock = redis.call('TIME')
local now_ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
"""

# KEYS: the member's leases. ARGV: lease id, limit, lease ms. Returns 1 if admitted.
# A lease already there (a retried call) is admitted again, not counted twice.
_ACQUIRE = _NOW_MS + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""

# KEYS: the member's leases. ARGV: lease ms, lease ids... Extends (or re-adds) each lease.
_REFRESH = _NOW_MS + """
local expiry = now_ms + tonumber(ARGV[1])
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], expiry, ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return #ARGV - 1
"""

# KEYS: the member's leases. Returns how many have not lapsed.
_COUNT = _NOW_MS + """
return redis.call('ZCOUNT', KEYS[1], '(' .. now_ms, '+inf')
"""


class RedisConnectionSlots:
    def __init__(self, url: str, *, limit: int, key_prefix: str, lease_seconds: float = LEASE_SECONDS,
                 refresh_seconds: float | None = None) -> None:
        self.limit = limit
        self._redis = aioredis.from_url(
            url, decode_responses=True, retry=Retry(NoBackoff(), 1),
            socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        self._prefix = key_prefix
        self._lease_ms = max(1, round(lease_seconds * 1000))
        # Three refreshes per lease: a lease survives two missed ones (a busy loop, a blip).
        self._refresh_seconds = refresh_seconds or lease_seconds / 3
        # Unique per process and start: a restarted instance never renews a dead one's leases.
        self.instance_id = f"{os.getpid()}-{secrets.token_hex(6)}"
        self._ids = itertools.count(1)
        # This instance's open sockets, by member: what the refresher keeps alive.
        self._held: dict[int, set[str]] = {}
        # A refresh and a release never overlap: a refresh that read a lease before its
        # release must not write it back after the release removed it.
        self._lock = asyncio.Lock()
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._refresh = self._redis.register_script(_REFRESH)
        self._count = self._redis.register_script(_COUNT)
        self._stopping = asyncio.Event()
        self._refresher: asyncio.Task[None] | None = None
        self._failing = False

    async def start(self) -> None:
        # No ping: an instance starting while Redis is down still comes up (see above).
        if self._refresher is None:
            self._stopping.clear()
            self._refresher = asyncio.create_task(self._refresh_forever(), name="connection-lease-refresher")

    async def stop(self) -> None:
        # By now uvicorn has closed every socket and their releases have run; the lease of
        # any socket still open is left to lapse (release() skips Redis once stopping).
        self._stopping.set()
        if self._refresher is not None:
            await self._refresher
            self._refresher = None
        await self._redis.aclose()

    async def acquire(self, user_id: int) -> Slot | None:
        slot = Slot(user_id, f"{self.instance_id}:{next(self._ids)}")
        try:
            admitted = await self._acquire(keys=[self._key(user_id)], args=[slot.socket_id, self.limit, self._lease_ms])
        except (RedisError, OSError) as error:
            self._unreachable(error)
            admitted = 1
        else:
            self._reachable()
        if not admitted:
            return None
        # (Cancelled before this line, the lease is held by nobody: it lapses on its own.)
        self._held.setdefault(user_id, set()).add(slot.socket_id)
        return slot

    async def release(self, slot: Slot) -> None:
        async with self._lock:
            sockets = self._held.get(slot.user_id)
            if sockets is None or slot.socket_id not in sockets:
                return
            sockets.discard(slot.socket_id)
            if not sockets:
                del self._held[slot.user_id]
            if self._stopping.is_set():
                return  # a socket outliving the lifespan: its client is closed, the lease lapses
            try:
                await self._redis.zrem(self._key(slot.user_id), slot.socket_id)
            except (RedisError, OSError) as error:
                self._unreachable(error)  # the lease lapses on its own

    async def open_count(self, user_id: int) -> int:
        count: int = await self._count(keys=[self._key(user_id)])
        return count

    async def refresh(self) -> None:
        """Extend every lease of this instance (re-adding any Redis lost). The background
        refresher does this on its own; exposed for tests and tooling."""
        async with self._lock:
            # A copy: sockets are admitted (added to `_held`) while the pipeline runs.
            held = [(user_id, list(sockets)) for user_id, sockets in self._held.items()]
            if not held:
                return
            async with self._redis.pipeline(transaction=False) as pipe:
                for user_id, sockets in held:
                    await self._refresh(keys=[self._key(user_id)], args=[self._lease_ms, *sockets], client=pipe)
                await pipe.execute()

    async def _refresh_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                await asyncio.wait_for(self._stopping.wait(), self._refresh_seconds)
                return
            except TimeoutError:
                pass
            try:
                await self.refresh()
            except (RedisError, OSError) as error:
                self._unreachable(error)
            except Exception:  # a bug must not stop the refreshing: every lease would lapse
                logger.exception("refreshing connection leases failed")
            else:
                self._reachable()

    def _unreachable(self, error: Exception) -> None:
        # Once per outage, not once per socket.
        if not self._failing:
            logger.warning("connection limits not enforced while Redis is unreachable: %s", error)
        self._failing = True

    def _reachable(self) -> None:
        if self._failing:
            logger.info("connection limits enforced again: Redis reachable")
        self._failing = False

    def _key(self, user_id: int) -> str:
        return f"{self._prefix}:{user_id}"
