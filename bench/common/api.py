"""A running teaminbox as its clients and its messaging provider use it: GraphQL over HTTP,
a team made with `teaminbox create-account` and the API (createUser, login), and the
signed inbound webhook."""
from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass, field

import httpx
import orjson

from bench.common.paths import operation
from bench.common.process import cli

PASSWORD = "bench-password-1"
CUSTOMER_PHONE = "+14155550123"
COMPANY_PHONE = "+14155550100"


async def graphql_answer(client: httpx.AsyncClient, query: str, variables: dict, token: str | None = None,
                         base: str = "") -> dict:
    """The whole JSON answer (`data` and `errors`) of a 200 response; `base` is the server's
    URL unless `client` has one."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await client.post(f"{base}/graphql", json={"query": query, "variables": variables}, headers=headers)
    try:
        body = response.json()
    except ValueError:
        raise RuntimeError(f"GraphQL answered {response.status_code}: {response.text[:300]!r}") from None
    if response.status_code != 200:
        raise RuntimeError(f"GraphQL failed: {response.status_code} {body}")
    return body


async def graphql(client: httpx.AsyncClient, query: str, variables: dict, token: str | None = None) -> dict:
    """`data` of an answer without errors."""
    body = await graphql_answer(client, query, variables, token)
    if body.get("errors"):
        raise RuntimeError(f"GraphQL failed: {body}")
    return body["data"]


async def login(client: httpx.AsyncClient, email: str) -> str:
    data = await graphql(client, operation("Login"), {"email": email, "password": PASSWORD})
    if data["login"]["userErrors"]:
        raise RuntimeError(f"login {email}: {data['login']['userErrors']}")
    return data["login"]["token"]


@dataclass
class Member:
    id: str
    token: str


@dataclass
class Team:
    tag: str  # unique per team: in the emails and the account name
    account_id: str
    webhook_secret: str
    admin: Member
    agents: list[Member] = field(default_factory=list)

    @property
    def members(self) -> list[Member]:
        return [self.admin, *self.agents]


async def create_team(env: dict[str, str], client: httpx.AsyncClient, agents: int) -> Team:
    """An account (plan TEAM) made with `teaminbox create-account` in the database of `env`,
    then `agents` agents added by its admin through `client`'s server; all logged in."""
    tag = uuid.uuid4().hex[:8]
    admin_email = f"admin-{tag}@bench.test"
    created = orjson.loads(await cli(env, "create-account", "--name", f"Bench {tag}", "--plan", "TEAM",
                                     "--admin-email", admin_email, "--admin-password", PASSWORD,
                                     "--admin-name", "Bench Admin"))
    admin = Member(str(created["adminId"]), await login(client, admin_email))
    team = Team(tag, str(created["accountId"]), created["webhookSecret"], admin)
    for k in range(agents):
        email = f"agent{k}-{tag}@bench.test"
        data = await graphql(client, operation("CreateUser"), {"input": {
            "email": email, "name": f"Agent {k}", "role": "AGENT", "password": PASSWORD}}, admin.token)
        if data["createUser"]["userErrors"]:
            raise RuntimeError(f"createUser: {data['createUser']['userErrors']}")
        team.agents.append(Member(data["createUser"]["user"]["id"], await login(client, email)))
    return team


def sign(secret: str, body: bytes) -> str:  # as server/webhook.py
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def inbound_request(account_id: str, secret: str, external_id: str, text: str,
                    phone: str = CUSTOMER_PHONE) -> tuple[str, bytes, dict[str, str]]:
    """(path, JSON body, signature header) of a customer's message; each `phone` is a
    conversation of its own."""
    body = orjson.dumps({"id": external_id, "from": phone, "to": COMPANY_PHONE, "body": text})
    return f"/webhooks/inbound/{account_id}", body, {"X-Signature": sign(secret, body)}


async def post_inbound(client: httpx.AsyncClient, account_id: str, secret: str, external_id: str, text: str,
                       phone: str = CUSTOMER_PHONE, base: str = "") -> httpx.Response:
    path, body, headers = inbound_request(account_id, secret, external_id, text, phone)
    return await client.post(f"{base}{path}", content=body, headers={**headers, "content-type": "application/json"})


def conversation_of(response: httpx.Response) -> str:
    """The conversation an inbound message landed in (the webhook must have taken it)."""
    if response.status_code != 200:
        raise RuntimeError(f"webhook answered {response.status_code}: {response.text}")
    return response.json()["conversationId"]
