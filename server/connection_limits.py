"""At most `max_connections_per_member` open WebSockets per member, across every instance.

A socket takes a slot for its member when its `connection_init` is accepted (the token
is good) and gives it back when it closes, however it closes (server/ws_handler.py).
A socket over the limit is closed before `connection_ack` with REFUSED_CLOSE_CODE.

Backends, chosen by the bus URL like typing presence:
- `memory://` -> MemoryConnectionSlots below: one process, a set of sockets per member.
- `redis://` -> server.connection_limits_redis.RedisConnectionSlots: leases in Redis that
  every instance shares, expiring on their own if the instance holding them dies.
A limit of 0 means no limit: MemoryConnectionSlots, which then only counts, on any bus.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

DEFAULT_MAX_CONNECTIONS_PER_MEMBER = 20

# 1013 "Try Again Later" (RFC 6455 registry), as for a database outage (server/health.py).
# A member at the limit is not a bad client: a slot frees as soon as another of their
# tabs or devices closes. graphql-ws (npm, 6.x; src/client.ts `shouldRetryConnectOrThrow`
# and `isFatalInternalCloseCode`) retries 1013 with its randomised exponential backoff
# (up to `retryAttempts`, 5 by default), whereas 4400, 4401, 4406, 4409, 4429, 4500, 4004,
# 4005 and most 1xxx codes end the client for good, and 4403 tells our clients to log in
# again. A custom 4xxx would be retried too, but only clients that know it would know why;
# 1013 says "later" to any WebSocket client.
REFUSED_CLOSE_CODE = 1013


def refusal_reason(limit: int) -> str:
    """The close reason (at most 123 bytes in a close frame): which limit, and its value."""
    return f"Too many connections: at most {limit} open WebSockets per member"


@dataclass(frozen=True)
class Slot:
    """One admitted socket's place in its member's count."""

    user_id: int
    socket_id: str


class ConnectionSlots(Protocol):
    limit: int  # 0: no limit

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def acquire(self, user_id: int) -> Slot | None:
        """A slot for one more socket of this member, or None when they are at the limit."""
        ...

    async def release(self, slot: Slot) -> None:
        """Give the slot back; releasing a slot twice is harmless. Never raises."""
        ...

    async def open_count(self, user_id: int) -> int:
        """How many sockets of this member hold a slot (for tests and operators)."""
        ...


class MemoryConnectionSlots:
    """One process's sockets per member (a memory:// bus has only one process)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[int, set[str]] = {}
        self._ids = itertools.count(1)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def acquire(self, user_id: int) -> Slot | None:
        sockets = self._open.setdefault(user_id, set())
        if self.limit and len(sockets) >= self.limit:
            return None
        slot = Slot(user_id, str(next(self._ids)))
        sockets.add(slot.socket_id)
        return slot

    async def release(self, slot: Slot) -> None:
        sockets = self._open.get(slot.user_id)
        if sockets is None:
            return
        sockets.discard(slot.socket_id)
        if not sockets:
            del self._open[slot.user_id]

    async def open_count(self, user_id: int) -> int:
        return len(self._open.get(user_id, ()))


def create_connection_slots(url: str, *, limit: int, key_prefix: str) -> ConnectionSlots:
    if limit < 0:
        raise ValueError(f"max connections per member must be 0 (no limit) or more, got {limit}")
    scheme = urlsplit(url).scheme
    if limit == 0 or scheme == "memory":
        return MemoryConnectionSlots(limit)
    if scheme in ("redis", "rediss"):
        # Imported here so the memory backend never needs the redis package loaded.
        from server.connection_limits_redis import RedisConnectionSlots

        return RedisConnectionSlots(url, limit=limit, key_prefix=key_prefix)
    raise ValueError(f"unsupported connection limit URL {url!r}: expected memory:// or redis://")
