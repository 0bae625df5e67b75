"""Where automatically persisted documents are kept, by hash, at most `capacity` of them,
the least recently used going first.

- `MemoryStore` (memory:// deployments, one process): an OrderedDict in LRU order.
- `RedisStore` (redis:// deployments, every instance shares it): under `{namespace}:apq:`,
  a hash `documents` (sha256 -> text) and a sorted set `recency` (sha256 -> last use, a
  counter `clock` INCRed by every use, so the order is strict and needs no clock
  agreement between instances). A lookup bumps the entry; an insert trims the oldest
  beyond the capacity, in the same script, so the bound holds exactly whatever the
  instances do. Why not a TTL per key: a TTL bounds age, not count, and expires a
  document every client still sends.
Both raise nothing of their own; RedisStore lets redis errors through for the caller to
decide (see PersistedDocuments)."""
from __future__ import annotations

from collections import OrderedDict
from typing import Protocol, cast

import redis.asyncio as aioredis

# A lookup or an insert waits at most this long for Redis, so an outage costs a request
# a second, not a hung worker.
REDIS_TIMEOUT_SECONDS = 1.0


class DocumentStore(Protocol):
    async def get(self, sha256: str) -> str | None: ...
    async def put(self, sha256: str, text: str) -> None: ...
    async def close(self) -> None: ...


class MemoryStore:
    def __init__(self, capacity: int):
        self._capacity = max(0, capacity)
        self._documents: OrderedDict[str, str] = OrderedDict()

    async def get(self, sha256: str) -> str | None:
        text = self._documents.get(sha256)
        if text is not None:
            self._documents.move_to_end(sha256)
        return text

    async def put(self, sha256: str, text: str) -> None:
        self._documents[sha256] = text
        self._documents.move_to_end(sha256)
        while len(self._documents) > self._capacity:
            self._documents.popitem(last=False)

    async def close(self) -> None:
        return None

    def __len__(self) -> int:
        return len(self._documents)


# KEYS: documents, recency, clock. ARGV: sha256. Returns the text or nil.
_GET = """
local text = redis.call('HGET', KEYS[1], ARGV[1])
if text then
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
end
return text
"""

# KEYS: documents, recency, clock. ARGV: sha256, text, capacity. Returns how many went.
# HDEL in slices: Lua's unpack() has a limit on arguments (a lowered capacity may evict
# many at once).
_PUT = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[3])
if excess <= 0 then
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[2], 0, excess - 1)
for first = 1, #oldest, 500 do
  redis.call('HDEL', KEYS[1], unpack(oldest, first, math.min(first + 499, #oldest)))
end
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, excess - 1)
return excess
"""


class RedisStore:
    def __init__(self, url: str, namespace: str, capacity: int):
        self._redis = aioredis.from_url(
            url, decode_responses=True,
            socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        prefix = f"{namespace}:apq:"
        self._keys = [prefix + "documents", prefix + "recency", prefix + "clock"]
        self._capacity = max(0, capacity)
        self._get = self._redis.register_script(_GET)
        self._put = self._redis.register_script(_PUT)

    async def get(self, sha256: str) -> str | None:
        return cast("str | None", await self._get(keys=self._keys, args=[sha256]))

    async def put(self, sha256: str, text: str) -> None:
        await self._put(keys=self._keys, args=[sha256, text, self._capacity])

    async def count(self) -> int:
        """How many documents are kept (for tests and operators)."""
        return await self._redis.hlen(self._keys[0])

    async def close(self) -> None:
        await self._redis.aclose()
