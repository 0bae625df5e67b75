"""Typing presence shared by several server instances through Redis.

Keys (prefix defaults to "typing"; an entry id is "account:conversation:user"):

- `{prefix}:expiries` - sorted set, entry id -> expiry (ms). The source of truth: an
  entry exists iff it is in here. Also the sweepers' work queue.
- `{prefix}:conversation:{id}` - sorted set, entry id -> start sequence, so the snapshot
  comes out in the order members started typing (a refresh does not reorder it).
- `{prefix}:member:{account}:{user}` - set of conversation ids, so `clear_user` touches
  only that member's entries.
- `{prefix}:sequence` - counter giving start sequences a strict order across instances.

Every operation is one Lua script, so it is atomic and all instances agree on what
changed: `set_typing(True)` reports a start only when its ZADD created the entry, and
a stop is reported by whoever removed the entry from `expiries` - `set_typing(False)`,
`clear_user`, or a sweeper. Each instance runs a background sweeper that claims due
entries (ZRANGEBYSCORE + ZREM inside a script), so exactly one instance calls
`on_expired` per expiry, and an entry still expires if the instance that received the
signal has died. Time comes from Redis' TIME, so instance clock skew does not matter.
`typing_users` only lists entries whose expiry is in the future, which hides an expired
entry during the short gap before a sweeper claims it. If every instance is down,
due entries are swept (and their stops announced) by the next instance that starts.
Scripts build some key names themselves, so this assumes a standalone Redis, like the bus.
"""
from __future__ import annotations

import asyncio
import logging

import redis.asyncio as aioredis

from subscriptions.typing_presence import ExpiredCallback, TypingChange

logger = logging.getLogger(__name__)

_NOW_MS = """
local clock = redis.call('TIME')
local now_ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
"""

# KEYS: expiries, conversation, member, sequence. ARGV: entry id, ttl ms, '1'|'0', conversation id.
# Returns 1 when the entry was created (typing) or removed (not typing), else 0.
_SET_TYPING = _NOW_MS + """
if ARGV[3] == '1' then
  local created = redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[2]), ARGV[1])
  if created == 1 then
    redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), ARGV[1])
    redis.call('SADD', KEYS[3], ARGV[4])
  end
  return created
end
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[4])
return removed
"""

# KEYS: expiries, member. ARGV: prefix, account id, user id. Returns the stopped conversation ids.
_CLEAR_MEMBER = """
local stopped = {}
for _, conversation in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local entry = ARGV[2] .. ':' .. conversation .. ':' .. ARGV[3]
  if redis.call('ZREM', KEYS[1], entry) == 1 then
    table.insert(stopped, conversation)
  end
  redis.call('ZREM', ARGV[1] .. ':conversation:' .. conversation, entry)
end
redis.call('DEL', KEYS[2])
return stopped
"""

# KEYS: conversation, expiries. Returns user ids of live entries in start order.
_TYPING_USERS = _NOW_MS + """
local users = {}
for _, entry in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local expires = redis.call('ZSCORE', KEYS[2], entry)
  if expires and tonumber(expires) > now_ms then
    table.insert(users, string.match(entry, ':(-?%d+)$'))
  end
end
return users
"""

# KEYS: expiries. ARGV: prefix, batch size.
# Returns {claimed entry ids, ms until the next entry is due or -1 when none is left}.
_CLAIM_EXPIRED = _NOW_MS + """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms, 'LIMIT', 0, tonumber(ARGV[2]))
for _, entry in ipairs(due) do
  redis.call('ZREM', KEYS[1], entry)
  local account, conversation, user = string.match(entry, '^(-?%d+):(-?%d+):(-?%d+)$')
  redis.call('ZREM', ARGV[1] .. ':conversation:' .. conversation, entry)
  redis.call('SREM', ARGV[1] .. ':member:' .. account .. ':' .. user, conversation)
end
local next_due = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if next_due[2] == nil then
  return {due, -1}
end
return {due, math.max(0, tonumber(next_due[2]) - now_ms)}
"""


class RedisTypingPresence:
    def __init__(
        self,
        url: str,
        *,
        ttl: float,
        on_expired: ExpiredCallback,
        key_prefix: str = "typing",
        max_sweep_interval: float | None = None,
        sweep_batch_size: int = 200,
    ) -> None:
        self._redis = aioredis.from_url(url, decode_responses=True)
        self._ttl_ms = max(1, round(ttl * 1000))
        self._on_expired = on_expired
        self._prefix = key_prefix
        # The sweeper sleeps until the next known deadline, but never longer than this, so
        # entries created by other instances meanwhile are noticed soon after they are due.
        self._max_sweep_interval = max_sweep_interval or min(0.5, ttl / 2)
        self._sweep_batch_size = sweep_batch_size
        self._set_typing = self._redis.register_script(_SET_TYPING)
        self._clear_member = self._redis.register_script(_CLEAR_MEMBER)
        self._typing_users = self._redis.register_script(_TYPING_USERS)
        self._claim_expired = self._redis.register_script(_CLAIM_EXPIRED)
        self._stopping = asyncio.Event()
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # No ping here: a server booting while Redis is briefly down should still come up;
        # the sweeper retries with backoff and set_typing raises until Redis is back.
        if self._sweeper is None:
            self._stopping.clear()
            self._sweeper = asyncio.create_task(self._sweep_forever(), name="typing-sweeper")

    async def stop(self, grace: float = 5.0) -> None:
        # Entries stay in Redis on purpose: other instances' sweepers will expire them.
        self._stopping.set()
        if self._sweeper is not None:
            try:  # let an in-flight batch finish announcing; cancel it past the grace period
                await asyncio.wait_for(self._sweeper, grace)
            except TimeoutError:
                logger.warning("typing sweeper did not stop within %.1fs; cancelled", grace)
            self._sweeper = None
        await self._redis.aclose()

    async def set_typing(
        self, account_id: int, conversation_id: int, user_id: int, is_typing: bool
    ) -> TypingChange | None:
        # Script replies as the scripts above return them (strings decoded: decode_responses).
        changed: int = await self._set_typing(
            keys=[
                self._key("expiries"),
                self._key("conversation", conversation_id),
                self._key("member", account_id, user_id),
                self._key("sequence"),
            ],
            args=[f"{account_id}:{conversation_id}:{user_id}", self._ttl_ms, int(is_typing), conversation_id],
        )
        return TypingChange(account_id, conversation_id, user_id, is_typing) if changed else None

    async def clear_user(self, account_id: int, user_id: int) -> list[TypingChange]:
        stopped: list[str] = await self._clear_member(
            keys=[self._key("expiries"), self._key("member", account_id, user_id)],
            args=[self._prefix, account_id, user_id],
        )
        return [TypingChange(account_id, int(conversation), user_id, False) for conversation in stopped]

    async def typing_users(self, conversation_id: int) -> list[int]:
        users: list[str] = await self._typing_users(
            keys=[self._key("conversation", conversation_id), self._key("expiries")]
        )
        return [int(user) for user in users]

    async def sweep_expired(self) -> list[TypingChange]:
        """Claim one batch of due entries and announce them. The background sweeper does
        this on its own; exposed for tests and tooling."""
        changes, _ = await self._claim_and_announce()
        return changes

    async def _claim_and_announce(self) -> tuple[list[TypingChange], float | None]:
        claimed: list[str]
        next_due_ms: int
        claimed, next_due_ms = await self._claim_expired(
            keys=[self._key("expiries")], args=[self._prefix, self._sweep_batch_size]
        )
        changes = []
        for entry in claimed:
            account_id, conversation_id, user_id = (int(part) for part in entry.split(":"))
            changes.append(TypingChange(account_id, conversation_id, user_id, False))
        for change in changes:
            try:
                await self._on_expired(change)
            except Exception:
                # The entry is already claimed; one failed publish must not block the others.
                logger.exception("on_expired failed for %s", change)
        if len(claimed) >= self._sweep_batch_size:
            return changes, 0.0  # more may be due right now
        return changes, None if next_due_ms < 0 else next_due_ms / 1000

    async def _sweep_forever(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                _, next_due = await self._claim_and_announce()
                failures = 0
                delay = self._max_sweep_interval if next_due is None else min(next_due, self._max_sweep_interval)
            except Exception as error:  # Redis down or restarting: keep the sweeper alive
                failures += 1
                delay = min(self._max_sweep_interval * 2**failures, 30.0)
                logger.warning("typing sweep failed (%s); retrying in %.1fs", error, delay)
            try:
                await asyncio.wait_for(self._stopping.wait(), delay)
            except TimeoutError:
                pass

    def _key(self, *parts: object) -> str:
        return ":".join([self._prefix, *(str(part) for part in parts)])
