"""What a fan-out round sends: a target (a server, the clients' tokens and subscription, a
publisher), the publishers of teaminbox (the signed inbound webhook) and of the baseline (a
ready-made frame of the same shape), and the warm-up that waits until subscriptions are live.

Message bodies are `bench|<tag>|<i>|<monotonic_ns at send>` (bench/common/clients.py reads
them); i < 0 is a warm-up."""
from __future__ import annotations

import base64
import functools
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson

from bench.common.api import inbound_request
from bench.common.http import RawHTTP
from bench.common.servers import Server
from bench.common.workers import Workers

WARMUPS = 10
WARMUP_TIMEOUT = 5.0

Publish = Callable[[RawHTTP, str, int], Awaitable[None]]  # posts message i of a round, stamped with the send time


@dataclass
class Target:
    name: str
    server: Server
    tokens: list[str]
    subscribe: dict  # the graphql-transport-ws subscribe payload
    publish: Publish


def check_published(status: int, answer: bytes) -> None:
    if status != 200:
        raise RuntimeError(f"publish answered {status}: {answer[:300]!r}")


def teaminbox_publisher(server: Server) -> Publish:
    """A customer's message through the signed inbound webhook."""
    async def publish(http: RawHTTP, tag: str, i: int) -> None:
        text = f"bench|{tag}|{i}|{time.monotonic_ns()}"
        check_published(*await http.post(*inbound_request(server.account_id, server.webhook_secret,
                                                          f"ext-{tag}-{i}", text)))
    return publish


def baseline_publisher(frame_of: Callable[[str], dict]) -> Publish:
    """The ready-made frame, posted to the baseline's broadcast endpoint."""
    async def publish(http: RawHTTP, tag: str, i: int) -> None:
        frame = frame_of(f"bench|{tag}|{i}|{time.monotonic_ns()}")
        check_published(*await http.post("/broadcast", orjson.dumps(frame)))
    return publish


def frame_template(kind: str, field: str, conversation_id: str) -> Callable[[str], dict]:
    """The baseline's payload: the shape of the MessageAdded frame teaminbox sends on
    `field` (conversationEvents, or inboxEvents for `kind` "inbox")."""
    ids = itertools.count(100_000)

    def frame(body: str) -> dict:
        n = next(ids)
        event: dict[str, object] = {"__typename": "MessageAdded",
                                    "cursor": base64.urlsafe_b64encode(f"[{n}]".encode()).decode()}
        if kind == "inbox":
            event["conversation"] = {"id": conversation_id, "status": "OPEN", "assignee": None}
        event["message"] = {"id": str(n), "direction": "INBOUND", "body": body, "author": None}
        return {"id": "1", "type": "next", "payload": {"data": {field: event}}}
    return frame


async def warm_up(target: Target, pool: Workers, http: RawHTTP, tag: str) -> None:
    """Subscriptions are live some time after `subscribe` (the protocol has no ack):
    send warm-ups until one reaches every client (it also warms the server's caches)."""
    for w in range(1, WARMUPS + 1):
        await target.publish(http, tag, -w)
        if await pool.wait(functools.partial(pool.all_received, -w), WARMUP_TIMEOUT):
            return
    raise RuntimeError(f"{target.name}: no warm-up message reached every client")
