"""A login ends at its session's expiry, on every connection, and after an idle time
without use (TEAMINBOX_SESSION_IDLE_HOURS, sliding: every use moves it on).

Times are set on the session rows directly: waiting hours is not a test."""
from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from models import Session
from resolvers.auth import token_hash
from resolvers.outbox import utcnow
from server.settings import Settings
from subscriptions.protocol import FORBIDDEN_CLOSE_CODE
from tests.support.documents import operation
from tests.support.http import data, gql
from tests.support.live import running_server
from tests.support.raw_ws import raw_socket
from tests.support.teams import make_team
from tests.support.webhook import inbound

IDLE_HOURS = 2.0
VIEWER = "query { viewer { user { id } } }"
INBOX_PAGE = operation("InboxPage")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, session_idle_hours=IDLE_HOURS)


async def session_of(token: str) -> Session:
    return await Session.get(token_hash=token_hash(token))


async def last_used(token: str, ago: timedelta) -> None:
    await Session.filter(token_hash=token_hash(token)).update(last_seen_at=utcnow() - ago)


async def test_a_running_subscription_ends_at_its_sessions_expiry(settings):
    async with running_server(settings) as server, server.http() as http:
        # given: bob's login has a second left, and his inbox view is live
        team = await make_team(http)
        bob = team["bob"]
        await Session.filter(token_hash=token_hash(bob.token)).update(expires_at=utcnow() + timedelta(seconds=1.5))
        async with raw_socket(server.ws_url) as socket:
            await socket.acknowledged(bob.token)
            after = data(await gql(http, operation("EventCursor"), token=bob.token))["eventCursor"]
            await socket.subscribe("all", operation("InboxEvents"), {"filter": {"scope": "ALL"}, "after": after})
            await inbound(http, team.account, "+14155550121")
            heard = await socket.wait_for(lambda message: message.get("id") == "all")
            assert heard["type"] == "next"

            # then: with no event and no operation, the socket is closed when the session ends
            closed = await socket.closed()
        assert (closed.code, closed.reason) == (FORBIDDEN_CLOSE_CODE, "Session expired")


async def test_a_session_idle_past_the_timeout_is_refused_everywhere(client, settings):
    team = await make_team(client)
    bob = team["bob"]
    # given: bob's session was last used just over the idle timeout ago
    await last_used(bob.token, timedelta(hours=IDLE_HOURS, minutes=1))

    # then: HTTP sees no login (the same answer as no token, on either path for the compiled documents)
    assert (await gql(client, VIEWER, token=bob.token))["data"]["viewer"] is None
    variables = {"filter": {"scope": "ALL"}}
    assert await gql(client, INBOX_PAGE, variables, token=bob.token) == await gql(client, INBOX_PAGE, variables)
    # and: the idle answer does not wake it
    assert (await gql(client, VIEWER, token=bob.token))["data"]["viewer"] is None


async def test_each_use_moves_the_idle_timeout_on(client, settings):
    team = await make_team(client)
    bob = team["bob"]
    # given: bob's session was last used well within the timeout
    await last_used(bob.token, timedelta(hours=IDLE_HOURS - 0.5))

    # when: he uses it
    assert (await gql(client, VIEWER, token=bob.token))["data"]["viewer"]["user"]["id"] == bob.id

    # then: it counts from now
    seen = (await session_of(bob.token)).last_seen_at
    assert seen is not None and utcnow() - seen < timedelta(minutes=1)


async def test_an_idle_session_cannot_open_a_socket(settings):
    async with running_server(settings) as server, server.http() as http:
        team = await make_team(http)
        await last_used(team["bob"].token, timedelta(hours=IDLE_HOURS + 1))
        async with raw_socket(server.ws_url) as socket:
            await socket.init(team["bob"].token)
            closed = await socket.closed()
        assert closed.code == FORBIDDEN_CLOSE_CODE


async def test_no_idle_timeout_when_it_is_turned_off(client, settings):
    team = await make_team(client)
    bob = team["bob"]
    await last_used(bob.token, timedelta(days=365))
    await Session.filter(token_hash=token_hash(bob.token)).update(expires_at=utcnow() + timedelta(days=1))
    # The app fixture applied IDLE_HOURS; an app built with 0 turns the timeout off.
    replace(settings, session_idle_hours=0).apply_session_policy()
    try:
        assert (await gql(client, VIEWER, token=bob.token))["data"]["viewer"]["user"]["id"] == bob.id
    finally:
        settings.apply_session_policy()


async def test_an_open_socket_is_in_use_until_it_closes(settings):
    async with running_server(settings) as server, server.http() as http:
        team = await make_team(http)
        bob = team["bob"]
        async with raw_socket(server.ws_url) as socket:
            await socket.acknowledged(bob.token)
            # given: the socket only listens; its session's last use is long ago
            await last_used(bob.token, timedelta(hours=IDLE_HOURS - 0.1))
        # when: it closes, then: the idle time starts from its close (written as the
        # server finishes with the socket, a moment after the client saw it close)
        await used_recently(bob.token)


async def used_recently(token: str) -> None:
    for _ in range(500):
        seen = (await session_of(token)).last_seen_at
        if seen is not None and utcnow() - seen < timedelta(minutes=1):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the session's last use was not written when its socket closed")
