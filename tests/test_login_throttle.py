"""Login throttling: after a few wrong passwords each further try waits longer, refused at
once (TOO_MANY_ATTEMPTS, with the seconds to wait) without hashing; counted per email and
per client address; a member's usual address is not locked out by guesses from elsewhere;
X-Forwarded-For is believed only from TEAMINBOX_TRUSTED_PROXIES; the counts are shared by
every instance on Redis; a flood beyond the hashing queue is refused at once."""
from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import httpx
import pytest
from starlette.applications import Starlette

from resolvers import passwords
from resolvers.login_throttle import (
    FREE_FAILURES_PER_ADDRESS,
    FREE_FAILURES_PER_EMAIL,
    MAX_DELAY_SECONDS,
    WINDOW_SECONDS,
    AttemptStore,
    Counter,
    MemoryAttemptStore,
)
from server.app import create_app
from server.client_address import parse_networks
from server.login_attempts import RedisAttemptStore
from server.settings import Settings
from tests.support.documents import operation
from tests.support.environment import TEST_BROADCAST_URL, on_redis
from tests.support.http import post_graphql
from tests.support.teams import PASSWORD, make_team

LOGIN = operation("Login")
WRONG = "not-the-password"


async def login(client: httpx.AsyncClient, email: str, password: str, forwarded_for: str | None = None) -> dict:
    headers = {"x-forwarded-for": forwarded_for} if forwarded_for else None
    response = await post_graphql(client, LOGIN, {"email": email, "password": password}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["data"]["login"]


def refusal(payload: dict) -> tuple[str | None, int | None]:
    errors = payload["userErrors"]
    return (errors[0]["code"], errors[0]["retryAfterSeconds"]) if errors else (None, None)


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app: Starlette = create_app(settings)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://teaminbox.test"
    ) as client:
        yield client


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The in-process client's peer is 127.0.0.1: as a proxy, it lets each test choose addresses.
    return replace(settings, trusted_proxies=parse_networks(["127.0.0.1"]))


async def test_wrong_passwords_make_further_tries_wait_even_with_the_right_one(client):
    team = await make_team(client)
    email = team["bob"].user.email
    for _ in range(FREE_FAILURES_PER_EMAIL):
        assert refusal(await login(client, email, WRONG, "203.0.113.1")) == ("INVALID_CREDENTIALS", None)

    # then: the next try is refused at once, with the seconds to wait, whatever its password
    code, wait = refusal(await login(client, email, PASSWORD, "203.0.113.2"))
    assert code == "TOO_MANY_ATTEMPTS" and wait is not None and 1 <= wait <= MAX_DELAY_SECONDS

    # and: once the wait is over, the right password works
    await asyncio.sleep(wait)
    assert (await login(client, email, PASSWORD, "203.0.113.2"))["token"]
    # and: that hands a guesser no fresh free tries: one more wrong one, and the next waits again
    assert refusal(await login(client, email, WRONG, "203.0.113.3")) == ("INVALID_CREDENTIALS", None)
    assert refusal(await login(client, email, WRONG, "203.0.113.3"))[0] == "TOO_MANY_ATTEMPTS"


async def test_an_address_guessing_many_emails_is_throttled_and_others_are_not(client):
    team = await make_team(client)
    for n in range(FREE_FAILURES_PER_ADDRESS):
        assert refusal(await login(client, f"nobody{n}@x.test", WRONG, "198.51.100.7"))[0] == "INVALID_CREDENTIALS"
    # the guessing address waits, for any email
    assert refusal(await login(client, team["bob"].user.email, PASSWORD, "198.51.100.7"))[0] == "TOO_MANY_ATTEMPTS"
    # another address is not slowed
    assert (await login(client, team["bob"].user.email, PASSWORD, "198.51.100.8"))["token"]


async def test_guesses_from_elsewhere_do_not_lock_a_member_out_of_their_usual_address(client):
    team = await make_team(client)
    email = team["bob"].user.email
    assert (await login(client, email, PASSWORD, "192.0.2.10"))["token"]  # bob's usual address
    for _ in range(FREE_FAILURES_PER_EMAIL + 3):
        await login(client, email, WRONG, "192.0.2.99")
    assert refusal(await login(client, email, WRONG, "192.0.2.99"))[0] == "TOO_MANY_ATTEMPTS"
    assert refusal(await login(client, email, PASSWORD, "192.0.2.50"))[0] == "TOO_MANY_ATTEMPTS"
    # then: from his usual address bob logs in at once
    assert (await login(client, email, PASSWORD, "192.0.2.10"))["token"]


async def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(settings):
    async with serving(replace(settings, trusted_proxies=())) as client:
        # given: every failure claims a different address, from a peer that is no proxy
        for n in range(FREE_FAILURES_PER_ADDRESS):
            await login(client, f"someone{n}@x.test", WRONG, f"203.0.113.{n + 1}")
        # then: they were all counted against the peer's own address
        assert refusal(await login(client, "another@x.test", WRONG, "203.0.113.200"))[0] == "TOO_MANY_ATTEMPTS"


@pytest.mark.skipif(not on_redis(), reason="shared counts need the Redis bus (TEAMINBOX_TEST_BROADCAST_URL)")
async def test_every_instance_shares_the_counts(settings):
    async with serving(settings) as one, serving(settings) as two:
        team = await make_team(one)
        email = team["bob"].user.email
        for _ in range(FREE_FAILURES_PER_EMAIL):
            await login(one, email, WRONG, "203.0.113.5")
        assert refusal(await login(two, email, PASSWORD, "203.0.113.6"))[0] == "TOO_MANY_ATTEMPTS"


async def test_a_flood_beyond_the_hashing_queue_is_refused_at_once_and_then_served(client):
    team = await make_team(client)
    # given: the hashing queue is full (work that waits for the test to release it)
    release = threading.Event()
    blockers = [asyncio.create_task(passwords.run_in_hashing_pool(release.wait))
                for _ in range(passwords.MAX_WAITING_UNFAMILIAR)]
    try:
        await asyncio.sleep(0)  # let the blockers take their places
        # then: a login from an unfamiliar address is refused at once, and counts as no failure
        code, wait = refusal(await login(client, team["bob"].user.email, PASSWORD, "203.0.113.9"))
        assert (code, wait) == ("TOO_MANY_ATTEMPTS", 1)
    finally:
        release.set()
        await asyncio.gather(*blockers)
    assert (await login(client, team["bob"].user.email, PASSWORD, "203.0.113.9"))["token"]


async def test_a_member_at_their_usual_address_gets_past_a_flood_from_elsewhere(client):
    team = await make_team(client)
    email = team["bob"].user.email
    assert (await login(client, email, PASSWORD, "192.0.2.33"))["token"]  # his usual address
    # given: unfamiliar tries fill their share of the hashing queue
    release = threading.Event()
    blockers = [asyncio.create_task(passwords.run_in_hashing_pool(release.wait))
                for _ in range(passwords.MAX_WAITING_UNFAMILIAR)]
    try:
        await asyncio.sleep(0)
        assert refusal(await login(client, email, PASSWORD, "203.0.113.10"))[0] == "TOO_MANY_ATTEMPTS"
        # then: from his usual address bob's login is queued, not refused
        answer = asyncio.create_task(login(client, email, PASSWORD, "192.0.2.33"))
        await asyncio.sleep(0.05)
        release.set()
        assert (await answer)["token"]
    finally:
        release.set()
        await asyncio.gather(*blockers)


# The rule itself, on each store, with the clock given.

@pytest.fixture
async def store(namespace: str) -> AsyncIterator[AttemptStore]:
    found: AttemptStore = (
        RedisAttemptStore(TEST_BROADCAST_URL, f"{namespace}:login:") if on_redis() else MemoryAttemptStore()
    )
    yield found
    await found.close()


async def test_the_delays_double_up_to_the_cap_and_are_forgotten_after_the_window(store):
    key = [Counter(f"email:{uuid.uuid4().hex}", free_failures=2)]
    now = 1_000_000.0
    assert [await store.begin(key, now) for _ in range(2)] == [0.0, 0.0]  # the free failures
    assert await store.begin(key, now) == pytest.approx(1.0)  # refused: 1 s after the last failure
    waits = []
    for _ in range(12):
        now += await store.begin(key, now)  # wait exactly as told, then try (and fail) again
        assert await store.begin(key, now) == 0.0
        waits.append(await store.begin(key, now))
    assert waits[:4] == pytest.approx([2.0, 4.0, 8.0, 16.0])
    assert max(waits) == pytest.approx(MAX_DELAY_SECONDS) == waits[-1]
    # a window after the last failure the key is forgotten: free again
    assert await store.begin(key, now + WINDOW_SECONDS + 1) == 0.0


async def test_a_refused_try_counts_nothing_and_a_given_back_one_is_undone(store):
    key = [Counter(f"address:{uuid.uuid4().hex}", free_failures=1)]
    assert await store.begin(key, 10.0) == 0.0
    assert await store.begin(key, 10.5) == pytest.approx(0.5)
    assert await store.begin(key, 10.9) == pytest.approx(0.1)  # the refusal at 10.5 moved nothing
    await store.give_back([key[0].key])
    assert await store.begin(key, 10.9) == 0.0



async def test_a_try_taken_back_leaves_the_wait_as_the_earlier_failures_made_it(store):
    key = [Counter(f"email:{uuid.uuid4().hex}", free_failures=1)]
    assert await store.begin(key, 10.0) == 0.0
    assert await store.begin(key, 20.0) == 0.0  # two failures: the next waits 2 s after the last (20)
    assert await store.begin(key, 30.0) == 0.0  # a try, then taken back (the right password)
    await store.give_back([key[0].key])
    assert await store.begin(key, 20.5) == pytest.approx(1.5)  # the wait counts from 20 again, not 30
