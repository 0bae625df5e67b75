"""Login failure counts shared by every instance through Redis (resolvers/login_throttle.py).

One hash per key (`n`: failures, `last`: the last one's time, `previous`: the one
before, for a try taken back), expiring WINDOW after the
last failure, so Redis forgets on its own. Checking and counting a try is one Lua script:
instances racing on the same email count every try. While Redis cannot be reached,
each instance counts in its own memory (logins keep working, throttled per instance)
and says so once in the log."""
from __future__ import annotations

import logging
from collections.abc import Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from resolvers.login_throttle import (
    FIRST_DELAY_SECONDS,
    MAX_DELAY_SECONDS,
    WINDOW_SECONDS,
    AttemptStore,
    Counter,
    MemoryAttemptStore,
)

log = logging.getLogger(__name__)

REDIS_TIMEOUT_SECONDS = 2.0

# KEYS: the counters. ARGV: now (s), window (ms), first delay, max delay, then each key's free failures.
# Returns the seconds to wait as a string (a Lua number would reach us truncated), "0" once counted.
_BEGIN = """
local now = tonumber(ARGV[1])
local first, max_delay = tonumber(ARGV[3]), tonumber(ARGV[4])
local wait = 0
for i, key in ipairs(KEYS) do
  local found = redis.call('HMGET', key, 'n', 'last')
  local failures, last = tonumber(found[1]) or 0, tonumber(found[2]) or 0
  local free = tonumber(ARGV[4 + i])
  if failures >= free then
    local delay = math.min(first * 2 ^ math.min(failures - free, 32), max_delay)
    wait = math.max(wait, last + delay - now)
  end
end
if wait > 0 then
  return tostring(wait)
end
for _, key in ipairs(KEYS) do
  redis.call('HINCRBY', key, 'n', 1)
  redis.call('HSET', key, 'previous', redis.call('HGET', key, 'last') or '0', 'last', ARGV[1])
  redis.call('PEXPIRE', key, ARGV[2])
end
return '0'
"""

# The try is taken back: one failure fewer, and the last failure is again the one before.
_GIVE_BACK = """
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    if redis.call('HINCRBY', key, 'n', -1) <= 0 then
      redis.call('DEL', key)
    else
      redis.call('HSET', key, 'last', redis.call('HGET', key, 'previous') or '0')
    end
  end
end
return 0
"""


class RedisAttemptStore:
    def __init__(self, url: str, key_prefix: str):
        self._redis = aioredis.from_url(
            url, decode_responses=True,
            socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        self._prefix = key_prefix
        self._begin = self._redis.register_script(_BEGIN)
        self._give_back = self._redis.register_script(_GIVE_BACK)
        self._fallback = MemoryAttemptStore()
        self._failing = False

    def _keys(self, keys: Sequence[str]) -> list[str]:
        return [self._prefix + key for key in keys]

    def _unreachable(self, error: Exception) -> None:
        if not self._failing:
            log.warning("Redis unreachable for login throttling (%s): counting in this process until it is back", error)
        self._failing = True

    async def begin(self, counters: Sequence[Counter], now: float) -> float:
        if not counters:
            return 0.0
        try:
            wait = await self._begin(
                keys=self._keys([counter.key for counter in counters]),
                args=[repr(now), int(WINDOW_SECONDS * 1000), FIRST_DELAY_SECONDS, MAX_DELAY_SECONDS,
                      *(counter.free_failures for counter in counters)],
            )
        except (RedisError, OSError) as error:
            self._unreachable(error)
            return await self._fallback.begin(counters, now)
        self._failing = False
        return float(wait)

    async def give_back(self, keys: Sequence[str]) -> None:
        if not keys:
            return
        try:
            await self._give_back(keys=self._keys(keys))
        except (RedisError, OSError) as error:
            self._unreachable(error)
            await self._fallback.give_back(keys)

    async def close(self) -> None:
        await self._redis.aclose()


def create_attempt_store(broadcast_url: str, key_prefix: str) -> AttemptStore:
    """Shared through Redis on a redis:// bus, else this process's own."""
    if broadcast_url.startswith(("redis://", "rediss://")):
        return RedisAttemptStore(broadcast_url, key_prefix)
    return MemoryAttemptStore()
