"""GraphQL over HTTP and the inbound webhook, against a running instance: queries, login,
and a team made with `teaminbox create-account`."""
from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from dataclasses import dataclass, field

import httpx
import orjson

from server.webhook import sign
from tests.instances._common import PASSWORD, operation
from tests.instances.processes import run_cli

_counter = itertools.count(1)


# --- GraphQL over HTTP and the webhook ----------------------------------------------------

async def gql(http: httpx.AsyncClient, base_url: str, query: str, variables: dict | None = None,
              token: str | None = None) -> dict:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await http.post(f"{base_url}/graphql", json={"query": query, "variables": variables or {}},
                               headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def data(result: dict) -> dict:
    assert not result.get("errors"), result.get("errors")
    return result["data"]


@dataclass
class Member:
    id: str
    email: str
    token: str


@dataclass
class Team:
    account_id: int
    webhook_secret: str
    admin: Member
    members: dict[str, Member] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Member:
        return self.members[name]


async def login(http: httpx.AsyncClient, base_url: str, email: str) -> str:
    result = data(await gql(http, base_url, operation("Login"), {"email": email, "password": PASSWORD}))["login"]
    assert result["userErrors"] == [], result
    return result["token"]


async def create_team(http: httpx.AsyncClient, env: dict[str, str], base_url: str,
                      names: tuple[str, ...] = ("bob", "carol"), plan: str = "TEAM") -> Team:
    """An account made with `teaminbox create-account`, plus agents added by its admin."""
    n = f"{next(_counter)}{uuid.uuid4().hex[:6]}"
    admin_email = f"admin{n}@team{n}.test"
    created = json.loads(await asyncio.to_thread(
        run_cli, env, "create-account", "--name", f"Team {n}", "--plan", plan, "--admin-email", admin_email,
        "--admin-password", PASSWORD, "--admin-name", f"Admin Number{n}"))
    admin = Member(created["adminId"], admin_email, await login(http, base_url, admin_email))
    team = Team(int(created["accountId"]), created["webhookSecret"], admin)
    for name in names:
        email = f"{name}{n}@team{n}.test"
        result = data(await gql(http, base_url, operation("CreateUser"), {"input": {
            "email": email, "name": f"{name.capitalize()} Tester", "role": "AGENT", "password": PASSWORD,
        }}, token=admin.token))["createUser"]
        assert result["userErrors"] == [], result
        team.members[name] = Member(result["user"]["id"], email, await login(http, base_url, email))
    return team


def inbound_body(phone: str, external_id: str, body: str = "Hello") -> bytes:
    return orjson.dumps({"id": external_id, "from": phone, "to": "+14155550100", "body": body})


async def post_inbound(http: httpx.AsyncClient, base_url: str, team: Team, phone: str, external_id: str | None = None,
                       body: str = "Hello") -> httpx.Response:
    raw = inbound_body(phone, external_id or f"ext-{uuid.uuid4().hex}", body)
    return await http.post(f"{base_url}/webhooks/inbound/{team.account_id}", content=raw,
                           headers={"x-signature": sign(team.webhook_secret, raw), "content-type": "application/json"})
