"""Redis pub/sub backend for the event bus, on redis.asyncio directly.

Stock broadcaster 0.3.1's RedisBackend is unusable with redis-py 8.x, so this replaces it
(keeping broadcaster's `BroadcastBackend` interface):

- The first subscription receives nothing. Its listener task waits on a `_ready` event
  that `subscribe()` sets *before* sending SUBSCRIBE, then runs `pubsub.listen()`, which
  loops only `while pubsub.subscribed`. redis-py adds the channel to `pubsub.channels`
  only after the command is written, and in 8.x writing yields to the event loop (the
  default `socket_timeout` is now 5 s, so the write goes through `asyncio.wait_for`). The
  listener therefore sees no channels, returns at once, clears `_ready` and sleeps until
  some later subscribe(): the first channel's messages are never read.
- A dropped connection ends the listener task silently, or, with redis-py 8's default
  retries (10), is reconnected and resubscribed *inside* redis-py, so messages published
  meanwhile are lost and nobody is told. Here the listener connection never retries:
  an error reaches `next_published()`, the bus's supervisor reconnects with backoff,
  resubscribes and tells subscribers to replay from the log.
- `subscribe()` returned once SUBSCRIBE was written, not once Redis had processed it,
  so a message published right after could be missed. Here it waits for the server's
  subscribe confirmation, which the reader routes back to the waiting caller.
- Publishing uses its own client (connection), apart from the pub/sub connection.

Half-open connections are caught by TCP keepalive, which redis-py 8 enables by default.
"""
from __future__ import annotations

import asyncio
import os
import secrets
from typing import Any, TypedDict, cast

from broadcaster import BroadcastBackend, Event
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

_CONFIRMATIONS = ("subscribe", "unsubscribe")


class _Reply(TypedDict):
    """A reply as `PubSub.get_message()` builds it (redis-py does not annotate it). Names
    and data are bytes: the listener connection does not decode responses."""

    type: str
    pattern: bytes | None
    channel: bytes | None  # None for a PONG
    data: bytes | int  # a message's payload; the subscription count of a confirmation


class RedisPubSubBackend(BroadcastBackend):
    def __init__(self, url: str, *, confirm_timeout: float = 5.0, connect_timeout: float = 2.0) -> None:
        self._url = url
        self._confirm_timeout = confirm_timeout
        self._connect_timeout = connect_timeout
        # A recognisable, unique name: visible in CLIENT LIST, and lets tests kill
        # exactly this listener connection.
        self.client_name = f"teaminbox-bus-{os.getpid()}-{secrets.token_hex(4)}"
        self._publisher: Redis | None = None
        self._listener: Redis | None = None
        self._pubsub: PubSub | None = None
        # False once the reader has failed: that connection will never confirm anything.
        self._listening = False
        # Callers waiting for Redis to confirm a (un)subscribe, by (kind, channel).
        self._waiting: dict[tuple[str, str], list[asyncio.Future[None]]] = {}

    async def connect(self) -> None:
        listener = Redis.from_url(
            self._url,
            client_name=self.client_name,
            socket_connect_timeout=self._connect_timeout,
            retry=Retry(NoBackoff(), 0),
        )
        pubsub = listener.pubsub()
        try:
            # redis-py leaves PubSub.connect() and PubSub.aclose() unannotated.
            await pubsub.connect()  # type: ignore[no-untyped-call]
        except BaseException:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            await listener.aclose()
            raise
        self._listener, self._pubsub = listener, pubsub
        self._listening = True
        self._publisher = Redis.from_url(
            self._url,
            client_name=f"{self.client_name}-publisher",
            socket_connect_timeout=self._connect_timeout,
            socket_timeout=self._connect_timeout,
            retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), 2),
        )

    async def disconnect(self) -> None:
        pubsub, listener, publisher = self._pubsub, self._listener, self._publisher
        self._pubsub = self._listener = self._publisher = None
        self._listening = False
        self._fail_waiters(RedisConnectionError("event bus backend disconnected"))
        for closable in (pubsub, listener, publisher):
            if closable is not None:
                try:
                    await closable.aclose()
                except Exception:
                    pass

    async def subscribe(self, channel: str) -> None:
        await self._send_and_confirm("subscribe", channel)

    async def unsubscribe(self, channel: str) -> None:
        await self._send_and_confirm("unsubscribe", channel)

    async def publish(self, channel: str, message: Any) -> None:
        if self._publisher is None:
            raise RedisConnectionError("event bus backend is not connected")
        await self._publisher.publish(channel, message)

    async def next_published(self) -> Event:
        """Read the pub/sub connection until a message arrives; raise if it drops.

        Must be running (the bus's reader) for subscribe()/unsubscribe() to complete,
        since their confirmations arrive on this connection.
        """
        pubsub = self._require_pubsub()
        try:
            while True:
                reply: _Reply | None = await pubsub.get_message(timeout=None)
                if reply is None or reply["channel"] is None:  # e.g. PONG
                    continue
                kind, channel = reply["type"], reply["channel"].decode()
                if kind == "message":
                    return Event(channel=channel, message=cast(bytes, reply["data"]).decode("utf-8"))
                if kind in _CONFIRMATIONS:
                    self._confirm(kind, channel)
        except BaseException as exc:
            # Whatever happens to the reader, nobody will confirm pending requests.
            self._listening = False
            self._fail_waiters(RedisConnectionError(f"event bus listener stopped: {exc!r}"))
            raise

    async def _send_and_confirm(self, kind: str, channel: str) -> None:
        pubsub = self._require_pubsub()
        confirmed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters = self._waiting.setdefault((kind, channel), [])
        waiters.append(confirmed)  # before sending: the reply may be read before send returns
        try:
            if kind == "subscribe":
                await pubsub.subscribe(channel)
            else:
                await pubsub.unsubscribe(channel)
            await asyncio.wait_for(confirmed, self._confirm_timeout)
        finally:
            if confirmed.done() and not confirmed.cancelled():
                confirmed.exception()  # mark retrieved: the caller already has an error if any
            if confirmed in waiters:
                waiters.remove(confirmed)
            if not waiters and self._waiting.get((kind, channel)) is waiters:
                del self._waiting[(kind, channel)]

    def _confirm(self, kind: str, channel: str) -> None:
        # Any confirmation means the connection is now (un)subscribed, which is what
        # every waiter for it wants to know. Callers serialise per channel (the bus's
        # channel lock), so an opposite request can't be in flight in between.
        for waiter in self._waiting.pop((kind, channel), []):
            if not waiter.done():
                waiter.set_result(None)

    def _fail_waiters(self, error: Exception) -> None:
        waiting, self._waiting = self._waiting, {}
        for waiters in waiting.values():
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(error)

    def _require_pubsub(self) -> PubSub:
        if self._pubsub is None or not self._listening:
            raise RedisConnectionError("event bus listener is not connected")
        return self._pubsub
