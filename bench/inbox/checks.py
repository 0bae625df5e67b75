"""What bench.inbox checks before timing, and the SQL work per request.

- The raw baseline answers exactly teaminbox's JSON for the same InboxView request
  (compared parsed; whether the bytes are equal too is recorded).
- PostGraphile's answer states the same facts: the same conversation ids in the same
  order, the same last messages, hasNextPage, and the same counts per member.
- `sql_work`: scans, rows read, inserted and updated per request in the database's
  tables (pg_stat_user_tables deltas over sequential requests), so the counts' cost can
  be shown flat across scales and the assignment's writes the same for both targets."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import httpx
import orjson

from bench.inbox import postgraphile
from bench.inbox.databases import settle_stats, table_stats
from bench.inbox.rounds import Target
from bench.inbox.servers import Servers


@dataclass
class Checks:
    view: dict[int, str] = field(default_factory=dict)  # scale -> what was verified
    assignment: str = ""
    counters_consistent: bool | None = None


def _first_difference(a, b, path: str = "") -> str:
    if type(a) is not type(b):
        return f"{path or '/'}: {a!r:.80} != {b!r:.80}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            if a.get(key, "<missing>") != b.get(key, "<missing>"):
                return _first_difference(a.get(key), b.get(key), f"{path}/{key}")
    elif isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)}"
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{path}/{index}")
    return f"{path or '/'}: {a!r:.80} != {b!r:.80}"


async def _post(url: str, request: dict) -> tuple[bytes, dict]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        response = await client.post(request["path"], content=request["body"].encode(), headers=request["headers"])
    if response.status_code != 200:
        raise RuntimeError(f"{url}{request['path']} answered {response.status_code}: {response.text[:500]}")
    answer = response.json()
    if answer.get("errors"):
        raise RuntimeError(f"{url}{request['path']} answered errors: {answer['errors']}")
    return response.content, answer


async def verify_inbox_view(servers: Servers, assignee: int, *, viewer: int) -> str:
    raw, ours, peer = servers.inbox_view_targets(assignee, viewer=viewer)
    ours_bytes, ours_answer = await _post(ours.server.http_url, ours.requests[0])
    raw_bytes, raw_answer = await _post(raw.server.http_url, raw.requests[0])
    if raw_answer != ours_answer:
        raise RuntimeError("the raw baseline's answer differs from teaminbox's: "
                           + _first_difference(raw_answer, ours_answer))
    _, peer_answer = await _post(peer.server.http_url, peer.requests[0])
    expected = postgraphile.summary_of_teaminbox(ours_answer, viewer)
    found = postgraphile.summary_of_postgraphile(peer_answer, viewer)
    if found != expected:
        raise RuntimeError("PostGraphile's answer states other facts than teaminbox's: "
                           + _first_difference(found, expected))
    edges = len(expected["ids"])
    if edges != 50:
        raise RuntimeError(f"the page has {edges} conversations, not 50")
    equal = "byte-equal" if raw_bytes == ours_bytes else "JSON-equal (bytes differ)"
    return (f"raw {equal} to teaminbox ({len(ours_bytes):,} bytes); PostGraphile same {edges} ids in order, "
            f"last messages and counts ({len(expected['by_assignee'])} members)")


async def sql_work(database_url: str, targets: list[Target], *, count: int = 100) -> dict[str, dict[str, float]]:
    """Per target and request: scans, rows read, rows inserted, rows updated, over `count`
    sequential requests from the target's list.
    A backend reports its statistics when idle, but at most once a second, else after
    10 s: each target's window is closed by a settle of 11 s, so this costs time."""
    work = {}
    await settle_stats()
    for target in targets:
        await target.ready()  # its own connection, whose statistics are reported as it closes
        await asyncio.sleep(0.5)
        before = await table_stats(database_url)
        async with httpx.AsyncClient(base_url=target.server.http_url, timeout=60) as client:
            for index in range(count):
                request = target.requests[index % len(target.requests)]
                response = await client.post(request["path"], content=request["body"].encode(),
                                             headers=request["headers"])
                if response.status_code != 200 or orjson.loads(response.content).get("errors"):
                    raise RuntimeError(f"{target.name} {request['path']}: {response.status_code} {response.text[:500]}")
        await settle_stats()
        after = await table_stats(database_url)
        work[target.name] = {key: (after[key] - before[key]) / count for key in before}
    return work


def _shape(value):
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(item) for item in value]
    return type(value).__name__


async def verify_assignment(ours: Target, raw: Target) -> str:
    """One reassignment each: the same JSON shape, and each names the requested assignee."""
    answers = []
    for target in (ours, raw):
        request = (await target.ready()).requests[0]
        _, answer = await _post(target.server.http_url, request)
        wanted = orjson.loads(request["body"])["variables"]["assigneeId"]
        payload = answer["data"]["assignConversation"]
        if payload["userErrors"] or payload["conversation"]["assignee"]["id"] != wanted:
            raise RuntimeError(f"{target.name} did not assign as asked: {answer}")
        answers.append(answer)
    if _shape(answers[0]) != _shape(answers[1]):
        raise RuntimeError("the raw assignment answer is shaped unlike teaminbox's: "
                           + _first_difference(_shape(answers[1]), _shape(answers[0])))
    return "raw and teaminbox answers have the same JSON shape and assign as asked"
