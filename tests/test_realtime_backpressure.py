"""A slow consumer must cost bounded memory and nobody else anything: its bounded queue
overflows, its stream ends with ResyncRequired, and every other subscriber keeps
receiving every event."""
from __future__ import annotations

import asyncio
import socket
from dataclasses import replace
from urllib.parse import urlsplit

import orjson
from websockets.asyncio.client import connect

from subscriptions import runtime
from subscriptions.events import MESSAGE_CREATED, BusEvent
from subscriptions.feed import OVERFLOWED, FeedSubscriber
from tests.support.documents import operation
from tests.support.graphql_ws import TRANSPORT_WS
from tests.support.http import data, gql
from tests.support.live import EventCollector, running_server, start_cursor, ws_session
from tests.support.teams import make_team
from tests.support.webhook import inbound

INBOX_EVENTS = operation("InboxEvents")
INBOX_COUNTS = operation("InboxCounts")
QUEUE_SIZE = 8
# Loopback sockets buffer megabytes: the stalled client asks for every message body 25
# times over (aliases), so a few hundred events are far more than the buffers hold.
WIDE_INBOX_EVENTS = (
    "subscription($after: String) { inboxEvents(after: $after) { __typename "
    "... on MessageAdded { " + " ".join(f"copy{i}: message {{ body }}" for i in range(25)) + " } "
    "... on ResyncRequired { reason } } }"
)
MAX_EVENTS = 600
HANG_GUARD = 10.0


def message_event(seq: int) -> BusEvent:
    return BusEvent(kind=MESSAGE_CREATED, account_id=1, seq=seq, conversation_id=1, payload={"message_id": seq})


def next_event(subscriber: FeedSubscriber) -> BusEvent:
    """The next queued event, which must be one (not the overflow marker)."""
    item = subscriber.queue.get_nowait()
    assert isinstance(item, BusEvent), item
    return item


def test_feed_subscriber_that_never_reads_overflows_while_another_gets_everything():
    # given
    slow = FeedSubscriber(lambda event: True, queue_size=QUEUE_SIZE)
    fast = FeedSubscriber(lambda event: True, queue_size=QUEUE_SIZE)
    received = []

    # when
    for seq in range(1, 3 * QUEUE_SIZE + 1):
        event = message_event(seq)
        slow.offer(event)
        fast.offer(event)
        received.append(next_event(fast))
        assert slow.queue.qsize() <= QUEUE_SIZE
        assert slow.overflowed is (seq > QUEUE_SIZE)

    # then
    assert [event.seq for event in received] == list(range(1, 3 * QUEUE_SIZE + 1))
    assert fast.queue.empty() and not fast.overflowed
    assert slow.queue.qsize() == 1
    assert slow.queue.get_nowait() is OVERFLOWED


def test_feed_subscriber_holds_exactly_queue_size_events_before_overflowing():
    # given
    subscriber = FeedSubscriber(lambda event: True, queue_size=QUEUE_SIZE)

    # when
    for seq in range(1, QUEUE_SIZE + 1):
        subscriber.offer(message_event(seq))

    # then
    assert not subscriber.overflowed
    assert [next_event(subscriber).seq for _ in range(QUEUE_SIZE)] == list(range(1, QUEUE_SIZE + 1))


def feed_subscribers(account_id: int) -> set[FeedSubscriber]:
    realtime = runtime.current()
    assert realtime is not None, "no app is running"
    feed = realtime.feeds._feeds.get(account_id)
    return set(feed.subscribers) if feed else set()


async def stalled_socket(server, token: str, after: str):
    """A graphql-transport-ws client that subscribes and then never reads: a tiny
    receive buffer, no compression (it would shrink the repetitive frames to nothing),
    and the client library stops reading after one frame."""
    address = urlsplit(server.ws_url)
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.setblocking(False)
    await asyncio.get_running_loop().sock_connect(raw, (address.hostname, address.port))
    client = await connect(server.ws_url, sock=raw, subprotocols=[TRANSPORT_WS], max_queue=1,
                           compression=None, open_timeout=HANG_GUARD, close_timeout=1)
    init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
    await client.send(orjson.dumps(init).decode())
    assert orjson.loads(await asyncio.wait_for(client.recv(), HANG_GUARD))["type"] == "connection_ack"
    await client.send(orjson.dumps({"id": "slow", "type": "subscribe", "payload": {
        "query": WIDE_INBOX_EVENTS, "variables": {"after": after}}}).decode())
    return client


async def test_slow_subscriber_is_dropped_with_bounded_memory_while_others_get_every_event(settings):
    settings = replace(settings, subscriber_queue_size=QUEUE_SIZE)
    async with running_server(settings) as server, server.http() as http:
        # given: Bob reads his inbox view; Carol's stalls (subscribes, then never reads)
        team = await make_team(http)
        account_id = team.account.id
        await inbound(http, team.account, "+14155550801", "Start")
        after = await start_cursor()
        slow = await stalled_socket(server, team["carol"].token, after)
        async with ws_session(server, team["bob"].token) as session:
            fast = EventCollector(session, INBOX_EVENTS, {"after": after})
            body = "x" * 1500  # big frames fill the socket buffers sooner

            # when: many events, until the stalled subscriber has overflowed (and a few more)
            sent: list[str] = []
            largest_queue = 0
            more_after_overflow = 5
            while len(sent) < MAX_EVENTS and more_after_overflow:
                sent.append((await inbound(http, team.account, "+14155550801", f"{len(sent)} {body}"))["messageId"])
                subscribers = feed_subscribers(account_id)
                largest_queue = max([largest_queue] + [subscriber.queue.qsize() for subscriber in subscribers])
                if any(subscriber.overflowed for subscriber in subscribers):
                    more_after_overflow -= 1

            # then: the server answers, Bob got every event once, in order
            counts = data(await gql(http, INBOX_COUNTS, {"status": "OPEN"}, token=team.admin.token))["inboxCounts"]
            await fast.wait_for(lambda item: item["inboxEvents"].get("message", {}).get("id") == sent[-1], HANG_GUARD)
            await fast.stop()
        received = [item["inboxEvents"]["message"]["id"] for item in fast.items
                    if item["inboxEvents"]["__typename"] == "MessageAdded"]
        assert more_after_overflow == 0, f"no subscriber overflowed after {len(sent)} events"
        assert largest_queue <= QUEUE_SIZE
        assert received == sent
        assert counts["all"] == 1

        # and: once Carol reads again, her stream ends with ResyncRequired
        slow_frames = []
        try:
            while True:
                frame = orjson.loads(await asyncio.wait_for(slow.recv(), HANG_GUARD))
                slow_frames.append(frame)
                if frame["type"] in ("complete", "error"):
                    break
        finally:
            await slow.close()
        nexts = [frame["payload"]["data"]["inboxEvents"]["__typename"] for frame in slow_frames
                 if frame["type"] == "next"]
        assert nexts[-1] == "ResyncRequired"
        assert slow_frames[-1] == {"id": "slow", "type": "complete"}
        assert len(nexts) < len(sent)
