"""Typing presence: the same cases against the memory and the Redis store, plus the
multi-instance guarantees only Redis gives. Timeouts only guard against hangs."""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio as aioredis

from subscriptions.typing_presence import MemoryTypingPresence, TypingChange, TypingPresence, create_typing_presence
from subscriptions.typing_presence_redis import RedisTypingPresence
from tests.support.redis_keys import delete_namespace
from tests.support.waiting import until

REDIS_URL = "redis://127.0.0.1:6379/15"  # a db index of its own, away from anything else
SHORT_TTL = 0.2
HANG_GUARD = 5.0
ACCOUNT, CONVERSATION, OTHER_CONVERSATION = 1, 10, 11
ALICE, BOB = 100, 200


class ExpiryRecorder:
    """An on_expired callback that records what it was told."""

    def __init__(self, *, fail_first: bool = False) -> None:
        self.changes: list[TypingChange] = []
        self._fail_next = fail_first
        self._arrived = asyncio.Event()

    async def __call__(self, change: TypingChange) -> None:
        self.changes.append(change)
        self._arrived.set()
        if self._fail_next:
            self._fail_next = False
            raise RuntimeError("publisher down")

    async def wait_for(self, count: int) -> None:
        async def arrived() -> None:
            while len(self.changes) < count:
                self._arrived.clear()
                await self._arrived.wait()

        await asyncio.wait_for(arrived(), HANG_GUARD)


MakePresence = Callable[..., Awaitable[tuple[TypingPresence, ExpiryRecorder]]]


async def redis_prefix_or_skip() -> str:
    client = aioredis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as error:
        pytest.skip(f"Redis not reachable at 127.0.0.1:6379: {error}")
    finally:
        await client.aclose()
    return f"test-typing-{uuid.uuid4().hex}"  # each test gets its own keys


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    prefix = await redis_prefix_or_skip()
    yield prefix
    await delete_namespace(REDIS_URL, prefix)


@pytest.fixture(params=["memory", "redis"])
async def make_presence(request: pytest.FixtureRequest) -> AsyncIterator[MakePresence]:
    """Builds started stores of the parametrized kind; stops them all afterwards."""
    prefix = await redis_prefix_or_skip() if request.param == "redis" else ""
    started: list[TypingPresence] = []

    async def make(*, ttl: float = 6.0, fail_first_expiry: bool = False) -> tuple[TypingPresence, ExpiryRecorder]:
        recorder = ExpiryRecorder(fail_first=fail_first_expiry)
        presence: TypingPresence
        if request.param == "memory":
            presence = MemoryTypingPresence(ttl=ttl, on_expired=recorder)
        else:
            presence = RedisTypingPresence(REDIS_URL, ttl=ttl, on_expired=recorder, key_prefix=prefix)
        await presence.start()
        started.append(presence)
        return presence, recorder

    yield make
    for presence in started:
        await presence.stop()
    if prefix:
        await delete_namespace(REDIS_URL, prefix)


async def test_first_true_announces_start(make_presence: MakePresence) -> None:
    presence, _ = await make_presence()
    change = await presence.set_typing(ACCOUNT, CONVERSATION, ALICE, True)
    assert change == TypingChange(ACCOUNT, CONVERSATION, ALICE, True)
    assert await presence.typing_users(CONVERSATION) == [ALICE]


async def test_repeated_true_is_a_silent_refresh(make_presence: MakePresence) -> None:
    presence, _ = await make_presence()
    await presence.set_typing(ACCOUNT, CONVERSATION, ALICE, True)
    assert await presence.set_typing(ACCOUNT, CONVERSATION, ALICE, True) is None
    assert await presence.typing_users(CONVERSATION) == [ALICE]


async def test_two_members_are_tracked_separately_in_start_order(make_presence: MakePresence) -> None:
    presence, _ = await make_presence()
    assert await presence.set_typing(ACCOUNT, CONVERSATION, ALICE, True) is not None
    assert await presence.set_typing(ACCOUNT, CONVERSATION, BOB, True) == TypingChange(ACCOUNT, CONVERSATION, BOB, True)
    await presence.set_typing(ACCOUNT, CONVERSATION, ALICE, True)  # a refresh keeps Alice first
    assert await presence.typing_users(CONVERSATION) == [ALICE, BOB]

    assert await presence.set_typing(ACCOUNT, CONVERSATION, ALICE, False) == TypingChange(
        ACCOUNT, CONVERSATION, ALICE, False
    )
    assert await presence.typing_users(CONVERSATION) == [BOB]


async def test_false_announces_stop(make_presence: MakePresence) -> None:
    presence, recorder = await make_presence()
    await presence.set_typing(ACCOUNT, CONVERSATION, ALICE, True)
    change = await presence.set_typing(ACCOUNT, CONVERSATION, ALICE, False)
    assert change == TypingChange(ACCOUNT, CONVERSATION, ALICE, False)
    assert await presence.typing_users(CONVERSATION) == []
    assert recorder.changes == []


async def test_false_when_not_typing_changes_nothing(make_presence: MakePresence) -> None:
    presence, _ = await make_presence()
    assert await presence.set_typing(ACCOUNT, CONVERSATION, ALICE, False) is None
    await presence.set_typing(ACCOUNT, CONVERSATION, ALICE, True)
    await presence.set_typing(ACCOUNT, CONVERSATION, ALICE, False)
    assert await presence.set_typing(ACCOUNT, CONVERSATION, ALICE, False) is None


async def test_entry_expires_once_after_ttl(make_presence: MakePresence) -> None:
    presence, recorder = await make_presence(ttl=SHORT_TTL)
    await presence.set_typing(ACCOUNT, CONVERSATION, ALICE, True)
    await recorder.wait_for(1)
    assert recorder.changes == [TypingChange(ACCOUNT, CONVERSATION, ALICE, False)]
    assert await presence.typing_users(CONVERSATION) == []
    # The entry is gone, so nothing else can announce its stop a second time.
    assert await presence.set_typing(ACCOUNT, CONVERSATION, ALICE, False) is None
    assert await presence.clear_user(ACCOUNT, ALICE) == []
    await asyncio.sleep(SHORT_TTL * 3)  # give a duplicate expiry every chance to show up
    assert len(recorder.changes) == 1
    # Typing again after an expiry is a new start.
    assert await presence.set_typing(ACCOUNT, CONVERSATION, ALICE, True) == TypingChange(
        ACCOUNT, CONVERSATION, ALICE, True
    )


async def test_refresh_postpones_expiry(make_presence: MakePresence) -> None:
    ttl = 0.4
    presence, recorder = await make_presence(ttl=ttl)
    await presence.set_typing(ACCOUNT, CONVERSATION, ALICE, True)
    for _ in range(8):  # keeps refreshing for twice the TTL, well inside each deadline
        await asyncio.sleep(ttl / 4)
        assert await presence.set_typing(ACCOUNT, CONVERSATION, ALICE, True) is None
    assert recorder.changes == []
    assert await presence.typing_users(CONVERSATION) == [ALICE]
    await recorder.wait_for(1)  # once the refreshes stop, it does expire
    assert recorder.changes == [TypingChange(ACCOUNT, CONVERSATION, ALICE, False)]


async def test_clear_user_stops_every_conversation_of_that_member(make_presence: MakePresence) -> None:
    presence, recorder = await make_presence()
    await presence.set_typing(ACCOUNT, CONVERSATION, ALICE, True)
    await presence.set_typing(ACCOUNT, OTHER_CONVERSATION, ALICE, True)
    await presence.set_typing(ACCOUNT, CONVERSATION, BOB, True)

    stops = await presence.clear_user(ACCOUNT, ALICE)
    assert sorted(stops, key=lambda change: change.conversation_id) == [
        TypingChange(ACCOUNT, CONVERSATION, ALICE, False),
        TypingChange(ACCOUNT, OTHER_CONVERSATION, ALICE, False),
    ]
    assert await presence.typing_users(CONVERSATION) == [BOB]
    assert await presence.typing_users(OTHER_CONVERSATION) == []
    assert await presence.clear_user(ACCOUNT, ALICE) == []
    assert await presence.set_typing(ACCOUNT, CONVERSATION, ALICE, False) is None
    assert recorder.changes == []


async def test_failing_on_expired_does_not_stop_later_expiries(make_presence: MakePresence) -> None:
    presence, recorder = await make_presence(ttl=SHORT_TTL, fail_first_expiry=True)
    await presence.set_typing(ACCOUNT, CONVERSATION, ALICE, True)
    await recorder.wait_for(1)
    await presence.set_typing(ACCOUNT, CONVERSATION, BOB, True)
    await recorder.wait_for(2)
    assert [change.user_id for change in recorder.changes] == [ALICE, BOB]


async def test_memory_store_leaves_nothing_behind() -> None:
    recorder = ExpiryRecorder()
    presence = MemoryTypingPresence(ttl=SHORT_TTL, on_expired=recorder)
    await presence.start()
    await presence.set_typing(ACCOUNT, CONVERSATION, ALICE, True)  # will expire
    await presence.set_typing(ACCOUNT, OTHER_CONVERSATION, BOB, True)  # will be stopped
    await presence.set_typing(ACCOUNT, CONVERSATION, BOB, True)  # will be cleared
    await presence.set_typing(ACCOUNT, OTHER_CONVERSATION, BOB, False)
    await presence.clear_user(ACCOUNT, BOB)
    await recorder.wait_for(1)
    await presence.stop()
    # Internal state is checked directly: a leak would not be visible through the API.
    assert presence._by_conversation == {} and presence._by_member == {}
    assert presence._expiry_callbacks == set()


async def test_memory_stop_cancels_pending_timers() -> None:
    recorder = ExpiryRecorder()
    presence = MemoryTypingPresence(ttl=SHORT_TTL, on_expired=recorder)
    await presence.start()
    await presence.set_typing(ACCOUNT, CONVERSATION, ALICE, True)
    await presence.stop()
    await asyncio.sleep(SHORT_TTL * 2)
    assert recorder.changes == []


async def test_redis_instances_share_one_snapshot(redis_prefix: str) -> None:
    server_a = RedisTypingPresence(REDIS_URL, ttl=6.0, on_expired=ExpiryRecorder(), key_prefix=redis_prefix)
    server_b = RedisTypingPresence(REDIS_URL, ttl=6.0, on_expired=ExpiryRecorder(), key_prefix=redis_prefix)
    await server_a.start()
    await server_b.start()
    try:
        await server_a.set_typing(ACCOUNT, CONVERSATION, ALICE, True)
        assert await server_b.set_typing(ACCOUNT, CONVERSATION, ALICE, True) is None  # a refresh, wherever it lands
        await server_b.set_typing(ACCOUNT, CONVERSATION, BOB, True)
        assert await server_a.typing_users(CONVERSATION) == [ALICE, BOB]
        assert await server_b.typing_users(CONVERSATION) == [ALICE, BOB]
        assert await server_b.set_typing(ACCOUNT, CONVERSATION, ALICE, False) is not None
        assert await server_a.set_typing(ACCOUNT, CONVERSATION, ALICE, False) is None
        assert await server_a.typing_users(CONVERSATION) == [BOB]
    finally:
        await server_a.stop()
        await server_b.stop()


async def test_redis_entry_expires_through_surviving_instance_exactly_once(redis_prefix: str) -> None:
    recorder_a, recorder_b = ExpiryRecorder(), ExpiryRecorder()
    server_a = RedisTypingPresence(REDIS_URL, ttl=SHORT_TTL, on_expired=recorder_a, key_prefix=redis_prefix)
    server_b = RedisTypingPresence(REDIS_URL, ttl=SHORT_TTL, on_expired=recorder_b, key_prefix=redis_prefix)
    await server_a.start()
    await server_b.start()
    try:
        await server_a.set_typing(ACCOUNT, CONVERSATION, ALICE, True)
        await server_a.stop()  # the instance that took the signal goes away
        await recorder_b.wait_for(1)
        assert recorder_b.changes == [TypingChange(ACCOUNT, CONVERSATION, ALICE, False)]
        assert recorder_a.changes == []
        assert await server_b.typing_users(CONVERSATION) == []
        assert await server_b.sweep_expired() == []  # already claimed: nobody announces it again
    finally:
        await server_b.stop()


async def test_redis_sweepers_race_for_each_expiry_and_one_wins(redis_prefix: str) -> None:
    recorders = [ExpiryRecorder() for _ in range(3)]
    servers = [
        RedisTypingPresence(REDIS_URL, ttl=SHORT_TTL, on_expired=recorder, key_prefix=redis_prefix)
        for recorder in recorders
    ]
    for server in servers:
        await server.start()
    try:
        for user_id in range(1, 21):
            await servers[user_id % 3].set_typing(ACCOUNT, CONVERSATION, user_id, True)

        await until(lambda: sum(len(recorder.changes) for recorder in recorders) >= 20, "every expiry announced",
                    timeout=HANG_GUARD, interval=0.02)
        await asyncio.sleep(SHORT_TTL * 3)  # give a duplicate every chance to show up
        announced = [change.user_id for recorder in recorders for change in recorder.changes]
        assert sorted(announced) == list(range(1, 21))
    finally:
        for server in servers:
            await server.stop()


async def test_factory_picks_backend_from_url() -> None:
    recorder = ExpiryRecorder()
    assert isinstance(create_typing_presence("memory://", ttl=6, on_expired=recorder), MemoryTypingPresence)
    redis_presence = create_typing_presence("redis://127.0.0.1:6379/15", ttl=6, on_expired=recorder)
    assert isinstance(redis_presence, RedisTypingPresence)
    await redis_presence.stop()  # never started: must still close cleanly, without Redis
    with pytest.raises(ValueError, match="unsupported"):
        create_typing_presence("kafka://somewhere", ttl=6, on_expired=recorder)
    with pytest.raises(ValueError, match="positive"):
        create_typing_presence("memory://", ttl=0, on_expired=recorder)
