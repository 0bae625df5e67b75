"""The soak's load: inbound messages, assignments and typing signals spread at random over
the instances at a steady rate, and the Redis restart in the middle."""
from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field

import httpx

from bench.common.api import Team, graphql_answer, post_inbound
from bench.common.paths import operation
from bench.common.redis import RedisProcess
from bench.common.servers import Server

ASSIGN = operation("AssignConversation")
SET_TYPING = operation("SetTyping")


@dataclass
class Op:
    kind: str
    instance: int
    at: float
    outcome: str  # ok | conflict | failed
    detail: str = ""


@dataclass
class Timeline:
    start: float = 0.0
    redis_killed: float | None = None
    redis_started: float | None = None
    recovered: float | None = None
    readyz_during_outage: list[int] = field(default_factory=list)


class Traffic:
    def __init__(self, http: httpx.AsyncClient, instances: list[Server], team: Team, conversations: list[str],
                 phones: list[str]) -> None:
        self.http = http
        self.instances = instances
        self.team = team
        self.conversations = conversations
        self.phones = phones
        self.ops: list[Op] = []
        self._random = random.Random(7)

    async def one(self) -> None:
        roll = self._random.random()
        index = self._random.randrange(len(self.instances))
        base = self.instances[index].http_url
        started = time.time()
        try:
            if roll < 0.4:
                kind, (outcome, detail) = "inbound", await self._inbound(base)
            elif roll < 0.75:
                kind, (outcome, detail) = "assign", await self._assign(base)
            else:
                kind, (outcome, detail) = "typing", await self._typing(base)
            self.ops.append(Op(kind, index, started, outcome, detail))
        except Exception as error:
            self.ops.append(Op("?", index, started, "failed", repr(error)[:200]))

    async def _inbound(self, base: str) -> tuple[str, str]:
        new = self._random.random() < 0.25
        phone = f"+1415{self._random.randrange(2000000, 9999999)}" if new else self._random.choice(self.phones)
        response = await post_inbound(self.http, self.team.account_id, self.team.webhook_secret,
                                      f"soak-{uuid.uuid4().hex}", "soak message", phone, base=base)
        if response.status_code != 200:
            return "failed", f"{response.status_code} {response.text[:200]}"
        if new:
            self.phones.append(phone)
            self.conversations.append(response.json()["conversationId"])
        return "ok", ""

    async def _assign(self, base: str) -> tuple[str, str]:
        assignee = self._random.choice([*self.team.agents, None])
        result = await graphql_answer(self.http, ASSIGN, {
            "conversationId": self._random.choice(self.conversations),
            "assigneeId": assignee.id if assignee else None}, token=self.team.admin.token, base=base)
        if result.get("errors"):
            return "failed", str(result["errors"])[:200]
        errors = result["data"]["assignConversation"]["userErrors"]
        return ("ok" if not errors else "conflict" if errors[0]["code"] == "ASSIGNMENT_CONFLICT" else "failed",
                str(errors)[:200])

    async def _typing(self, base: str) -> tuple[str, str]:
        member = self._random.choice(self.team.agents)
        result = await graphql_answer(self.http, SET_TYPING, {
            "conversationId": self._random.choice(self.conversations),
            "isTyping": self._random.random() < 0.8}, token=member.token, base=base)
        ok = not result.get("errors") and not result["data"]["setTyping"]["userErrors"]
        return ("ok", "") if ok else ("failed", str(result.get("errors") or result["data"]["setTyping"])[:200])

    async def run(self, seconds: float, rate: float, on_half: Callable[[], Coroutine[None, None, None]]) -> float:
        """Start one operation every 1/rate s (at most 32 in flight) for `seconds`;
        calls `on_half()` (in the background) halfway. Returns the achieved rate."""
        in_flight = asyncio.Semaphore(32)
        tasks: set[asyncio.Task] = set()
        begin = time.monotonic()
        half: asyncio.Task | None = None
        started = 0
        while (elapsed := time.monotonic() - begin) < seconds:
            if half is None and elapsed >= seconds / 2:
                half = asyncio.create_task(on_half())
            await in_flight.acquire()
            task = asyncio.create_task(self.one())
            task.add_done_callback(lambda _: in_flight.release())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            started += 1
            await asyncio.sleep(max(0.0, begin + started / rate - time.monotonic()))
        await asyncio.gather(*tasks)
        if half is not None:
            await half
        return started / (time.monotonic() - begin)


async def redis_restart(redis: RedisProcess, instances: list[Server], outage: float, timeline: Timeline) -> None:
    """Kill Redis, read every instance's /readyz while it is down, start it again on the
    same port after `outage` seconds and wait until every instance is ready again."""
    await redis.stop()
    timeline.redis_killed = time.time()
    print(f"  redis killed at +{timeline.redis_killed - timeline.start:.1f}s", flush=True)
    await asyncio.sleep(min(1.0, outage / 2))
    for instance in instances:
        timeline.readyz_during_outage.append(await instance.readyz())
    await asyncio.sleep(max(0.0, outage - min(1.0, outage / 2)))
    await redis.start()
    timeline.redis_started = time.time()
    for instance in instances:
        await instance.wait_readyz(30)
    timeline.recovered = time.time()
    print(f"  redis started at +{timeline.redis_started - timeline.start:.1f}s, instances ready again at "
          f"+{timeline.recovered - timeline.start:.1f}s", flush=True)
