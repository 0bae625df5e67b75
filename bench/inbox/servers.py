"""The three servers bench.inbox compares on one database, each its own process on a free
port, and the requests each is sent.

- teaminbox: `teaminbox serve` on PostgreSQL (migrated beforehand with `teaminbox
  migrate`), the Redis bus, pool of `pool` connections (`?minsize=&maxsize=`).
- raw: bench/inbox/baseline_http.py, same pool size, same Redis for its PUBLISH.
- postgraphile: bench/peers/postgraphile/server.mjs under Node 22, same pool size."""
from __future__ import annotations

import random
import sys
from pathlib import Path

import orjson

from bench.common.paths import operation
from bench.common.process import free_port
from bench.common.servers import Server, spawn, start_instance, teaminbox_env
from bench.inbox import postgraphile
from bench.inbox.databases import BenchAccount, current_owners
from bench.inbox.rounds import Target

NAMESPACE = "teaminbox-bench-inbox"
def with_pool(database_url: str, pool: int) -> str:
    return f"{database_url}{'&' if '?' in database_url else '?'}minsize={pool}&maxsize={pool}"


def graphql_request(path: str, token: str | None, query: str, variables: dict) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return {"path": path, "headers": headers, "body": orjson.dumps({"query": query, "variables": variables}).decode()}


def inbox_view_variables(assignee_id: int) -> dict:
    return {"filter": {"status": "OPEN", "scope": "USER", "assigneeId": str(assignee_id)}, "first": 50,
            "status": "OPEN"}


def assignment_requests(account: BenchAccount, owners: dict[int, int | None], count: int = 4096,
                        seed: int | None = None) -> list[dict]:
    """Reassignments cycling over the conversations of `owners` (id -> current assignee),
    made by the members in turn, without expectedAssigneeId. Every request changes the
    owner, however often wrk goes round the list: each conversation's next assignee
    differs from its previous one (from `owners` at first, and the last one differs from
    the first). About `count` requests; needs 3 assignable members or more. Build it from
    the current owners right before each run."""
    rng = random.Random(seed)
    writers = account.writers
    document = operation("AssignConversation")
    conversations = list(owners)
    occurrences = max(2, -(-count // len(conversations)))  # whole rounds, so the wrap-around holds too
    chosen: dict[int, list[int]] = {}
    for conversation, owner in owners.items():
        chain: list[int] = []
        for position in range(occurrences):
            avoid = {chain[-1] if chain else owner}
            if position == occurrences - 1 and occurrences > 1:
                avoid.add(chain[0])
            chain.append(rng.choice([w for w in writers if w not in avoid]))
        chosen[conversation] = chain
    requests = []
    for index in range(occurrences * len(conversations)):
        conversation = conversations[index % len(conversations)]
        variables = {"conversationId": str(conversation),
                     "assigneeId": str(chosen[conversation][index // len(conversations)])}
        requests.append(graphql_request("/graphql", account.tokens[writers[index % len(writers)]], document, variables))
    return requests


class Servers:
    def __init__(self, account: BenchAccount, workdir: Path, *, redis_url: str, pool: int, log=print):
        self.account, self.workdir, self.redis_url, self.pool, self.log = account, workdir, redis_url, pool, log
        self.teaminbox: Server | None = None
        self.raw: Server | None = None
        self.postgraphile: Server | None = None
        self.inbox_view_document = operation("InboxView")

    async def __aenter__(self) -> Servers:
        try:
            await self._start()
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def _start(self) -> None:
        url = self.account.database_url
        env = teaminbox_env(with_pool(url, self.pool), self.redis_url)
        env["TEAMINBOX_NAMESPACE"] = NAMESPACE
        self.teaminbox = await start_instance("teaminbox", env, self.workdir)
        port = free_port()
        self.raw = await spawn("raw", [sys.executable, "-m", "bench.inbox.baseline_http", "--port", str(port),
                                       "--database", url, "--redis", self.redis_url, "--namespace", NAMESPACE,
                                       "--pool", str(self.pool)], dict(env), self.workdir / "raw.log", port)
        self.postgraphile = await postgraphile.start_postgraphile(url, self.workdir, pool=self.pool)
        self.log(f"   servers: teaminbox :{self.teaminbox.port}, raw :{self.raw.port}, "
                 f"postgraphile :{self.postgraphile.port} (pool {self.pool} each)")

    async def __aexit__(self, *exc) -> None:
        for server in (self.postgraphile, self.raw, self.teaminbox):
            if server is not None:
                await server.stop()

    def _started(self) -> tuple[Server, Server, Server]:
        """(teaminbox, raw, postgraphile), once `async with` has started them."""
        if self.teaminbox is None or self.raw is None or self.postgraphile is None:
            raise RuntimeError("the servers are used outside `async with`")
        return self.teaminbox, self.raw, self.postgraphile

    def inbox_view_targets(self, assignee_id: int, *, viewer: int) -> list[Target]:
        """raw, teaminbox, postgraphile: the order of every round."""
        teaminbox, raw, peer_server = self._started()
        token = self.account.tokens[viewer]
        ours = graphql_request("/graphql", token, self.inbox_view_document, inbox_view_variables(assignee_id))
        peer = {"path": "/graphql", "headers": {"Content-Type": "application/json"},
                "body": postgraphile.request_body(self.account.account_id, assignee_id, token).decode()}
        return [Target("raw", raw, [ours]), Target("teaminbox", teaminbox, [ours]),
                Target("postgraphile", peer_server, [peer])]

    def counts_targets(self, *, viewer: int) -> list[Target]:
        teaminbox, raw, _ = self._started()
        token = self.account.tokens[viewer]
        request = graphql_request("/graphql", token, operation("InboxCounts"), {"status": "OPEN"})
        return [Target("raw", raw, [dict(request, path="/graphql/counts")]), Target("teaminbox", teaminbox, [request])]

    def assignment_targets(self, conversations: list[int]) -> list[Target]:
        """Reassignments of `conversations`, the list made anew before each run."""
        async def refresh(target: Target) -> None:
            owners = await current_owners(self.account.database_url, conversations)
            path = {"raw": "/graphql/assign", "raw-nolock": "/graphql/assign-nolock"}.get(target.name, "/graphql")
            target.requests = [dict(r, path=path) for r in assignment_requests(self.account, owners)]

        teaminbox, raw, _ = self._started()
        return [Target(name, server, [], refresh)
                for name, server in (("raw", raw), ("teaminbox", teaminbox), ("raw-nolock", raw))]
