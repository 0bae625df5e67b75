"""Login tries as clients behind a trusted proxy send them: the Login document with the
client's address in X-Forwarded-For, timed, and sorted by what the server answered."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from bench.common.paths import operation

LOGIN = operation("Login")

OK = "ok"
WRONG = "wrong password (hashed)"
THROTTLED = "throttled"  # TOO_MANY_ATTEMPTS from the failure counts (resolvers/login_throttle.py)
QUEUE_FULL = "queue full"  # TOO_MANY_ATTEMPTS from the bounded hashing queue (resolvers/passwords.py)
# No answer: the connection failed (a starved server can close a kept-alive connection
# with the next request already sent) or the request timed out.
DROPPED = "no answer"
# The two TOO_MANY_ATTEMPTS share a code; only the message tells them apart.
QUEUE_FULL_MESSAGE = "Too many logins at once"


@dataclass(frozen=True)
class Answer:
    kind: str
    ns: int  # request to answer
    retry_after: int | None = None
    detail: str = ""  # for DROPPED: httpx's exception


async def try_login(client: httpx.AsyncClient, email: str, password: str, address: str) -> Answer:
    start = time.perf_counter_ns()
    try:
        response = await client.post("/graphql", headers={"x-forwarded-for": address},
                                     json={"query": LOGIN, "variables": {"email": email, "password": password}})
    except httpx.TransportError as failure:
        return Answer(DROPPED, time.perf_counter_ns() - start, detail=type(failure).__name__)
    elapsed = time.perf_counter_ns() - start
    body = response.json() if response.status_code == 200 else None
    if body is None or body.get("errors"):
        raise RuntimeError(f"login answered {response.status_code}: {response.text[:300]}")
    login = body["data"]["login"]
    if login["token"]:
        return Answer(OK, elapsed)
    error = login["userErrors"][0]
    if error["code"] == "INVALID_CREDENTIALS":
        return Answer(WRONG, elapsed)
    if error["code"] == "TOO_MANY_ATTEMPTS":
        kind = QUEUE_FULL if error["message"].startswith(QUEUE_FULL_MESSAGE) else THROTTLED
        return Answer(kind, elapsed, error["retryAfterSeconds"])
    raise RuntimeError(f"unexpected login answer: {login}")


@dataclass
class FloodResult:
    answers: list[Answer] = field(default_factory=list)  # in the order they came back
    first_seconds: float = 0.0  # until the first `minimum` tries had all been answered
    seconds: float = 0.0  # the whole flood


async def flood(client: httpx.AsyncClient, attempt: Callable[[int], tuple[str, str]], password: str,
                minimum: int, concurrency: int, keep_going: Callable[[], bool],
                on_answer: Callable[[int], None] | None = None) -> FloodResult:
    """`concurrency` loops, each sending the next try (`attempt(i)` gives its email and
    address) as soon as its previous one is answered: at least `minimum` tries, and more
    while `keep_going()`, so what it slows down can be measured over its whole length."""
    result = FloodResult()
    sent = 0
    start = time.perf_counter()
    first_done = [0.0] * minimum

    async def loop() -> None:
        nonlocal sent
        while sent < minimum or keep_going():
            i, sent = sent, sent + 1
            email, address = attempt(i)
            answer = await try_login(client, email, password, address)
            if i < minimum:
                first_done[i] = time.perf_counter() - start
            result.answers.append(answer)
            if on_answer is not None:
                on_answer(len(result.answers))

    await asyncio.gather(*(loop() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - start
    result.first_seconds = max(first_done)
    return result


async def sequential(client: httpx.AsyncClient, email: str, password: str, address: str, count: int,
                     into: list[Answer] | None = None, keep_going: Callable[[], bool] = lambda: False,
                     deadline: float = float("inf")) -> list[Answer]:
    """One member logging in again and again, each try once the previous one is answered:
    `count` tries, and more while `keep_going()`; none started after `deadline` (monotonic).
    Answers go to `into` as they come (a flood can watch how many there are)."""
    answers = [] if into is None else into
    while (len(answers) < count or keep_going()) and time.monotonic() < deadline:
        answers.append(await try_login(client, email, password, address))
    return answers
