"""Typing presence: the server-owned state behind the live typing indicator (DESIGN.md §1, §4).

A member signals typing in a conversation; the store keeps one entry per
(conversation, member). The entry expires on its own after a TTL (refreshed by repeated
`true` signals), and is removed by `false`, by the member sending a message, and by
`clear_user` when the member's last connection closes.

One invariant makes every announcement exactly-once on every backend:
**an entry exists  <=>  its start was announced and its stop was not (yet)**.
`set_typing(True)` announces only when it creates the entry; whichever of
`set_typing(False)`, `clear_user` or the expiry removes the entry announces the stop
(the first two by returning it, the expiry by calling `on_expired`).

Typing events are ephemeral: nothing here touches the durable event log. This module
only owns state; publishing the returned changes on the bus is the caller's job, and so
is not echoing a change to the typist.

Backends: `memory://` -> `MemoryTypingPresence` below (one process);
`redis://` -> `subscriptions.typing_presence_redis.RedisTypingPresence` (several instances).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

DEFAULT_TYPING_TTL_SECONDS = 6.0


@dataclass(frozen=True)
class TypingChange:
    account_id: int
    conversation_id: int
    user_id: int
    is_typing: bool


ExpiredCallback = Callable[[TypingChange], Awaitable[None]]


class TypingPresence(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def set_typing(
        self, account_id: int, conversation_id: int, user_id: int, is_typing: bool
    ) -> TypingChange | None:
        """The change to announce, or None when nothing changed (a refresh, or
        `false` for a member who is not typing)."""
        ...

    async def clear_user(self, account_id: int, user_id: int) -> list[TypingChange]:
        """Remove every entry of this member; returns the stop changes to announce."""
        ...

    async def typing_users(self, conversation_id: int) -> list[int]:
        """User ids typing now, in the order they started typing."""
        ...


def create_typing_presence(
    url: str, *, ttl: float, on_expired: ExpiredCallback, key_prefix: str = "typing"
) -> TypingPresence:
    if ttl <= 0:
        raise ValueError(f"typing TTL must be positive, got {ttl!r}")
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryTypingPresence(ttl=ttl, on_expired=on_expired)
    if scheme in ("redis", "rediss"):
        # Imported here so the memory backend never needs the redis package loaded.
        from subscriptions.typing_presence_redis import RedisTypingPresence

        return RedisTypingPresence(url, ttl=ttl, on_expired=on_expired, key_prefix=key_prefix)
    raise ValueError(f"unsupported typing presence URL {url!r}: expected memory:// or redis://")


@dataclass
class _MemoryEntry:
    account_id: int
    expires_at: float  # on the event loop's clock
    timer: asyncio.TimerHandle


class MemoryTypingPresence:
    """Dicts plus one armed timer per entry; every operation is O(1) per entry touched.

    Nothing here awaits, so each call is atomic on the event loop.
    """

    def __init__(self, *, ttl: float, on_expired: ExpiredCallback) -> None:
        self._ttl = ttl
        self._on_expired = on_expired
        # conversation -> user -> entry. Dicts keep insertion order, which is the start
        # order typing_users reports; a refresh updates the entry in place, so it keeps its place.
        self._by_conversation: dict[int, dict[int, _MemoryEntry]] = {}
        # (account, user) -> conversations (a dict used as an ordered set), so clear_user
        # touches only that member's entries instead of scanning every conversation.
        self._by_member: dict[tuple[int, int], dict[int, None]] = {}
        # Held so the tasks are not garbage-collected mid-flight and stop() can await them.
        self._expiry_callbacks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        # Nothing to start: timers are armed per entry as members start typing.
        return None

    async def stop(self) -> None:
        for typists in self._by_conversation.values():
            for entry in typists.values():
                entry.timer.cancel()
        self._by_conversation.clear()
        self._by_member.clear()
        # Let stop events already being announced reach the bus before shutdown.
        if self._expiry_callbacks:
            await asyncio.gather(*self._expiry_callbacks, return_exceptions=True)

    async def set_typing(
        self, account_id: int, conversation_id: int, user_id: int, is_typing: bool
    ) -> TypingChange | None:
        if is_typing:
            return self._start_or_refresh(account_id, conversation_id, user_id)
        entry = self._remove(conversation_id, user_id)
        if entry is None:
            return None
        entry.timer.cancel()
        return TypingChange(entry.account_id, conversation_id, user_id, False)

    async def clear_user(self, account_id: int, user_id: int) -> list[TypingChange]:
        changes: list[TypingChange] = []
        for conversation_id in list(self._by_member.get((account_id, user_id), ())):
            entry = self._remove(conversation_id, user_id)
            if entry is not None:
                entry.timer.cancel()
                changes.append(TypingChange(account_id, conversation_id, user_id, False))
        return changes

    async def typing_users(self, conversation_id: int) -> list[int]:
        return list(self._by_conversation.get(conversation_id, ()))

    def _start_or_refresh(self, account_id: int, conversation_id: int, user_id: int) -> TypingChange | None:
        loop = asyncio.get_running_loop()
        expires_at = loop.time() + self._ttl
        typists = self._by_conversation.setdefault(conversation_id, {})
        entry = typists.get(user_id)
        if entry is not None:
            # Clients refresh every few keystrokes: only move the deadline. The armed timer
            # re-arms itself when it fires before it, which saves a cancel plus a new
            # heap entry in the event loop for every signal.
            entry.expires_at = expires_at
            return None
        timer = loop.call_at(expires_at, self._on_timer, conversation_id, user_id)
        typists[user_id] = _MemoryEntry(account_id, expires_at, timer)
        self._by_member.setdefault((account_id, user_id), {})[conversation_id] = None
        return TypingChange(account_id, conversation_id, user_id, True)

    def _on_timer(self, conversation_id: int, user_id: int) -> None:
        entry = self._by_conversation.get(conversation_id, {}).get(user_id)
        if entry is None:  # removed meanwhile; its timer was cancelled, so this is defensive
            return
        loop = asyncio.get_running_loop()
        if entry.expires_at > entry.timer.when():  # refreshed since this timer was armed
            entry.timer = loop.call_at(entry.expires_at, self._on_timer, conversation_id, user_id)
            return
        self._remove(conversation_id, user_id)
        change = TypingChange(entry.account_id, conversation_id, user_id, False)
        task = loop.create_task(self._announce_expiry(change))
        self._expiry_callbacks.add(task)
        task.add_done_callback(self._expiry_callbacks.discard)

    async def _announce_expiry(self, change: TypingChange) -> None:
        try:
            await self._on_expired(change)
        except Exception:
            # A failing publisher must not take the timers down with it.
            logger.exception("on_expired failed for %s", change)

    def _remove(self, conversation_id: int, user_id: int) -> _MemoryEntry | None:
        typists = self._by_conversation.get(conversation_id)
        entry = typists.pop(user_id, None) if typists is not None else None
        if entry is None:
            return None
        if not typists:
            del self._by_conversation[conversation_id]
        member_key = (entry.account_id, user_id)
        conversations = self._by_member.get(member_key)
        if conversations is not None:
            conversations.pop(conversation_id, None)
            if not conversations:
                del self._by_member[member_key]
        return entry
