"""At most TEAMINBOX_MAX_CONNECTIONS_PER_MEMBER open WebSockets per member: the next one
is closed with 1013 ("Try Again Later") and a reason naming the limit, before any
`connection_ack`; other members are not counted; a socket gives its slot back however it
ends; on Redis every instance counts together, and the leases of an instance that
vanished lapse on their own. The live-server tests run on the pass's bus (memory:// or
redis://), the store tests on Redis only, the deployment test with real instances."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from typing import cast

import pytest
import redis.asyncio as aioredis
from starlette.applications import Starlette

from server.connection_limits import DEFAULT_MAX_CONNECTIONS_PER_MEMBER, ConnectionSlots
from server.connection_limits_redis import RedisConnectionSlots
from server.settings import Settings
from tests.support.deployment.environment import skip_reason
from tests.support.deployment.instances import Deployment, deployment
from tests.support.deployment.teams import create_team
from tests.support.documents import operation
from tests.support.environment import TEST_BROADCAST_URL, on_redis
from tests.support.live import LiveServer, running_server
from tests.support.node_clients import node_clients_or_skip
from tests.support.node_scenario import node_scenario
from tests.support.ports import free_port
from tests.support.raw_ws import Closed, RawSocket, raw_socket
from tests.support.teams import Team, login, make_team

LIMIT = 2
TRY_AGAIN_LATER = 1013
REFUSED = Closed(TRY_AGAIN_LATER, f"Too many connections: at most {LIMIT} open WebSockets per member")
TIMEOUT = 15.0  # seconds; only turns a hang into a failure

needs_redis = pytest.mark.skipif(not on_redis(), reason="Redis leases: run with TEAMINBOX_TEST_BROADCAST_URL=redis://")


async def eventually(value: Callable[[], Awaitable[object]], expected: object, what: str) -> None:
    """Poll an async reading until it equals `expected` (server bookkeeping announces nothing)."""
    deadline = time.monotonic() + TIMEOUT
    while (current := await value()) != expected:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {current!r}, expected {expected!r}")
        await asyncio.sleep(0.02)


@dataclass
class Limited:
    server: LiveServer
    team: Team
    stack: AsyncExitStack

    @property
    def slots(self) -> ConnectionSlots:
        app = cast(Starlette, self.server.server.config.app)  # create_app()'s, as uvicorn was given it
        return cast(ConnectionSlots, app.state.connection_slots)  # built by the lifespan

    async def acked(self, token: str) -> RawSocket:
        """A socket the server acknowledged; closed when the test ends."""
        socket = await self.stack.enter_async_context(raw_socket(self.server.ws_url))
        await socket.acknowledged(token)
        return socket

    async def refused(self, token: str) -> tuple[Closed, list[dict]]:
        """connection_init on a new socket: how the server closed it, and what it sent before."""
        async with raw_socket(self.server.ws_url) as socket:
            await socket.init(token)
            return await socket.closed(), socket.received

    async def open_count(self, member: str) -> int:
        return await self.slots.open_count(self.team[member].user.id)


@asynccontextmanager
async def limited_server(settings: Settings, limit: int = LIMIT) -> AsyncIterator[Limited]:
    async with running_server(replace(settings, max_connections_per_member=limit)) as server, \
            server.http() as http, AsyncExitStack() as stack:
        yield Limited(server, await make_team(http), stack)


@pytest.fixture
async def limited(settings) -> AsyncIterator[Limited]:
    async with limited_server(settings) as running:
        yield running


def test_the_limit_is_a_setting_with_a_default_of_20(monkeypatch):
    monkeypatch.delenv("TEAMINBOX_MAX_CONNECTIONS_PER_MEMBER", raising=False)
    assert Settings.from_env().max_connections_per_member == DEFAULT_MAX_CONNECTIONS_PER_MEMBER == 20
    monkeypatch.setenv("TEAMINBOX_MAX_CONNECTIONS_PER_MEMBER", "3")
    assert Settings.from_env().max_connections_per_member == 3


async def test_the_socket_past_the_limit_is_refused_with_try_again_later_naming_the_limit(limited):
    # given: bob has as many sockets open as he may
    bob = limited.team["bob"].token
    open_sockets = [await limited.acked(bob) for _ in range(LIMIT)]

    # when
    closed, received = await limited.refused(bob)

    # then: closed before any connection_ack, with the limit in the reason
    assert closed == REFUSED
    assert received == []
    # and: his open sockets are untouched
    for socket in open_sockets:
        assert (await socket.pong())["type"] == "pong"
    assert await limited.open_count("bob") == LIMIT


async def test_another_member_is_not_counted(limited):
    # given: bob is at the limit
    for _ in range(LIMIT):
        await limited.acked(limited.team["bob"].token)

    # when: carol opens as many
    carols = [await limited.acked(limited.team["carol"].token) for _ in range(LIMIT)]

    # then
    for socket in carols:
        assert (await socket.pong())["type"] == "pong"
    assert (await limited.refused(limited.team["carol"].token))[0] == REFUSED


async def end_by_client_close(limited: Limited, socket: RawSocket, token: str) -> None:
    await socket.socket.close()


async def end_by_dropped_connection(limited: Limited, socket: RawSocket, token: str) -> None:
    socket.socket.transport.abort()  # no close frame: a laptop lid shut, a network gone


async def end_by_malformed_frame(limited: Limited, socket: RawSocket, token: str) -> None:
    await socket.send_raw("not JSON")
    assert (await socket.closed()).code == 4400


async def end_by_access_revoked(limited: Limited, socket: RawSocket, token: str) -> None:
    async with limited.server.http() as http:
        logout = await http.post("/graphql", json={"query": operation("Logout")},
                                 headers={"authorization": f"Bearer {token}"})
        assert logout.json()["data"]["logout"]["revoked"] is True, logout.text
    await socket.subscribe("1", "{ __typename }")  # the socket's login ended: the server closes it
    assert (await socket.closed()).code == 4403


ENDINGS = {
    "the client closes it": end_by_client_close,
    "the connection drops without a close frame": end_by_dropped_connection,
    "the server closes it (4400, a malformed frame)": end_by_malformed_frame,
    "the server closes it (4403, its login ended)": end_by_access_revoked,
}


@pytest.mark.parametrize("ending", ENDINGS.values(), ids=ENDINGS.keys())
async def test_a_socket_gives_its_slot_back_however_it_ends(limited, ending):
    # given: bob at the limit, one socket on a login of its own (a logout ends only that one)
    async with limited.server.http() as http:
        own_login = await login(http, limited.team["bob"].user.email)
    bob = limited.team["bob"].token
    ending_socket = await limited.acked(own_login)
    await limited.acked(bob)
    assert (await limited.refused(bob))[0] == REFUSED

    # when
    await ending(limited, ending_socket, own_login)

    # then: its slot is free, and only its slot (the refused socket took none)
    await eventually(lambda: limited.open_count("bob"), LIMIT - 1, "bob's slot to come back")
    assert (await (await limited.acked(bob)).pong())["type"] == "pong"
    assert (await limited.refused(bob))[0] == REFUSED


async def test_graphql_ws_in_its_default_configuration_retries_and_gets_in_once_a_slot_frees(limited):
    clients = node_clients_or_skip()
    # given: bob at the limit
    bob = limited.team["bob"].token
    tabs = [await limited.acked(bob) for _ in range(LIMIT)]
    config = {"wsUrl": limited.server.ws_url, "token": bob}
    async with node_scenario(clients, "graphql_ws_defaults.mjs", config) as client:
        # when: one more tab's graphql-ws client connects
        refusal = await client.next(lambda line: line["type"] == "closed", "the refusal")
        assert (refusal["code"], refusal["reason"]) == (REFUSED.code, REFUSED.reason)

        # and: another tab closes
        await tabs[0].socket.close()

        # then: the client, retrying by itself with its default backoff, gets in (a code
        # graphql-ws holds fatal would end its subscription with an error instead)
        outcome = await client.next(lambda line: line["type"] in ("connected", "subscriptionError"),
                                    "the retry", timeout=30)
        assert outcome == {"type": "connected", "wasRetry": True}


async def test_a_limit_of_zero_admits_any_number(settings):
    async with limited_server(settings, limit=0) as limited:
        bob = limited.team["bob"].token
        sockets = [await limited.acked(bob) for _ in range(LIMIT + 3)]
        for socket in sockets:
            assert (await socket.pong())["type"] == "pong"


# --- the Redis store: leases shared by instances ---------------------------------------------


@asynccontextmanager
async def redis_slots(namespace: str, **options: float) -> AsyncIterator[RedisConnectionSlots]:
    """One instance's store (as each instance's lifespan builds it), on the test's namespace."""
    slots = RedisConnectionSlots(TEST_BROADCAST_URL, limit=LIMIT, key_prefix=f"{namespace}:connections", **options)
    await slots.start()
    try:
        yield slots
    finally:
        await slots.stop()


async def redis_now_ms() -> int:
    client = aioredis.from_url(TEST_BROADCAST_URL)
    try:
        seconds, microseconds = await client.time()
        return seconds * 1000 + microseconds // 1000
    finally:
        await client.aclose()


async def lease_expiry_ms(namespace: str, user_id: int, socket_id: str) -> float | None:
    client = aioredis.from_url(TEST_BROADCAST_URL, decode_responses=True)
    try:
        return await client.zscore(f"{namespace}:connections:{user_id}", socket_id)
    finally:
        await client.aclose()


@needs_redis
async def test_instances_sharing_redis_count_together(namespace):
    async with redis_slots(namespace) as one, redis_slots(namespace) as two:
        # given: a socket of member 7 on each instance
        on_one, on_two = await one.acquire(7), await two.acquire(7)
        assert on_one is not None and on_two is not None

        # then: neither instance admits a third; member 8 is apart
        assert await one.acquire(7) is None
        assert await two.acquire(7) is None
        assert await two.acquire(8) is not None

        # when: the socket on instance one closes
        await one.release(on_one)

        # then: instance two admits one more, and no more
        assert await two.acquire(7) is not None
        assert await one.acquire(7) is None
        assert await one.open_count(7) == LIMIT


@needs_redis
async def test_the_leases_of_a_vanished_instance_lapse(namespace):
    async with redis_slots(namespace) as survivor:
        # given: an instance holding both of member 7's slots (leases of two seconds)
        async with redis_slots(namespace, lease_seconds=2.0, refresh_seconds=0.1) as vanishing:
            assert await vanishing.acquire(7) is not None
            assert await vanishing.acquire(7) is not None
            assert await survivor.acquire(7) is None
        # when: it is gone without releasing anything (stop() leaves leases to lapse, as a crash does)

        # then: its leases stop counting, and the survivor admits the member again
        await eventually(lambda: survivor.open_count(7), 0, "the vanished instance's leases to lapse")
        assert await survivor.acquire(7) is not None


@needs_redis
async def test_a_live_instance_keeps_its_leases_past_their_first_expiry(namespace):
    async with redis_slots(namespace) as other, \
            redis_slots(namespace, lease_seconds=2.0, refresh_seconds=0.1) as holding:
        # given: an instance holding both of member 7's slots
        slots = [slot for slot in [await holding.acquire(7), await holding.acquire(7)] if slot is not None]
        assert len(slots) == LIMIT
        first_expiry = await lease_expiry_ms(namespace, 7, slots[0].socket_id)
        assert first_expiry is not None

        # when: the leases' first expiry has passed (Redis' clock decides)
        async def past_first_expiry() -> bool:
            return await redis_now_ms() > first_expiry
        await eventually(past_first_expiry, True, "the first expiry to pass")

        # then: they were refreshed, and still count
        for slot in slots:
            expiry = await lease_expiry_ms(namespace, 7, slot.socket_id)
            assert expiry is not None and expiry > first_expiry
        assert await other.acquire(7) is None


@needs_redis
async def test_a_refresh_restores_leases_redis_lost(namespace):
    async with redis_slots(namespace) as holding:
        # given: an open socket whose lease Redis lost (a restart without persistence)
        assert await holding.acquire(7) is not None
        client = aioredis.from_url(TEST_BROADCAST_URL)
        try:
            await client.delete(f"{namespace}:connections:7")
        finally:
            await client.aclose()
        assert await holding.open_count(7) == 0

        # when
        await holding.refresh()

        # then
        assert await holding.open_count(7) == 1


async def test_with_redis_unreachable_sockets_are_admitted_with_one_warning(caplog):
    # given: a store whose Redis does not answer (nothing listens on the port)
    slots = RedisConnectionSlots(f"redis://127.0.0.1:{free_port()}/0", limit=1, key_prefix="unreachable:connections")
    try:
        with caplog.at_level(logging.WARNING, logger="server.connection_limits_redis"):
            # when: more sockets than the limit arrive
            admitted = [await slots.acquire(7) for _ in range(3)]
            for slot in admitted:
                if slot is not None:
                    await slots.release(slot)  # also fails: never raises

        # then: all admitted (a safeguard's outage is not the product's), one warning for the outage
        assert all(slot is not None for slot in admitted)
        warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
        assert [record.getMessage().split(":")[0] for record in warnings] == [
            "connection limits not enforced while Redis is unreachable"
        ]
    finally:
        await slots.stop()


# --- two real instances ------------------------------------------------------------------------


async def lease_count(cluster: Deployment, user_id: str) -> int:
    client = aioredis.from_url(cluster.redis.url)
    try:
        count: int = await client.zcard(f"teaminbox:connections:{user_id}")
        return count
    finally:
        await client.aclose()


@pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")
async def test_two_instances_count_a_members_sockets_together(tmp_path):
    async with deployment(tmp_path, 2, max_connections_per_member=LIMIT) as cluster, cluster[0].http() as http:
        one, two = cluster[0], cluster[1]
        team = await create_team(http, cluster.env)
        bob = team["bob"]
        async with raw_socket(one.ws_url) as on_one, raw_socket(two.ws_url) as on_two:
            # given: bob has a socket on each instance
            await on_one.acknowledged(bob.token)
            await on_two.acknowledged(bob.token)

            # when / then: a third is refused by either instance
            for instance in (one, two):
                async with raw_socket(instance.ws_url) as third:
                    await third.init(bob.token)
                    assert await third.closed() == REFUSED
            # and: carol is not counted with him
            async with raw_socket(two.ws_url) as carols:
                await carols.acknowledged(team["carol"].token)

            # when: his socket on instance one closes
            await on_one.socket.close()
            await eventually(lambda: lease_count(cluster, bob.id), 1, "instance one to give the slot back")

            # then: instance two admits him once more
            async with raw_socket(two.ws_url) as again:
                await again.acknowledged(bob.token)
                assert (await again.pong())["type"] == "pong"
