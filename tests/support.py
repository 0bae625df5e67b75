"""Test helpers: GraphQL over HTTP, the client documents, and account factories."""
from __future__ import annotations

import itertools
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from models import Account, Plan, Role, User
from resolvers.accounts import create_account
from resolvers.members import new_user
from server.webhook import sign

OPERATIONS_DIR = Path(__file__).resolve().parent.parent / "graphql" / "operations"
PASSWORD = "correct-horse-battery"
_counter = itertools.count(1)


def operation(name: str) -> str:
    """A document real clients send, from graphql/operations/<name>.graphql."""
    return (OPERATIONS_DIR / f"{name}.graphql").read_text()


async def gql(client: httpx.AsyncClient, query: str, variables: dict | None = None, token: str | None = None) -> dict:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def data(result: dict) -> dict:
    assert not result.get("errors"), result.get("errors")
    return result["data"]


def error_codes(result: dict) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in result.get("errors") or []]


@dataclass
class Member:
    user: User
    token: str

    @property
    def id(self) -> str:
        return str(self.user.id)


@dataclass
class Team:
    account: Account
    admin: Member
    members: dict[str, Member] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Member:
        return self.members[name]


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    result = data(await gql(client, "mutation($e:String!,$p:String!){login(email:$e,password:$p){token userErrors{code}}}",
                            {"e": email, "p": password}))
    assert result["login"]["userErrors"] == [], result
    return result["login"]["token"]


async def make_team(
    client: httpx.AsyncClient, plan: Plan = Plan.TEAM, roles: dict[str, Role] | None = None
) -> Team:
    """An account with an admin and the given members (name -> role), all logged in."""
    n = next(_counter)
    admin_email = f"admin{n}@team{n}.test"
    account, admin = await create_account(f"Team {n}", plan, admin_email, PASSWORD, f"Admin Number{n}")
    team = Team(account=account, admin=Member(admin, await login(client, admin_email)))
    for name, role in (roles or {"bob": Role.AGENT, "carol": Role.AGENT}).items():
        email = f"{name}{n}@team{n}.test"
        user = await new_user(account, email=email, name=name.capitalize() + " Tester", role=role, password=PASSWORD)
        team.members[name] = Member(user, await login(client, email))
    return team


async def post_inbound(client: httpx.AsyncClient, account: Account, payload: dict[str, Any], secret: str | None = None) -> httpx.Response:
    import orjson

    body = orjson.dumps(payload)
    return await client.post(
        f"/webhooks/inbound/{account.id}", content=body,
        headers={"x-signature": sign(secret or account.webhook_secret, body), "content-type": "application/json"},
    )


async def inbound(client: httpx.AsyncClient, account: Account, phone: str, body: str = "Hello", external_id: str | None = None) -> dict:
    """Deliver a customer's message through the webhook; returns its JSON answer."""
    response = await post_inbound(client, account, {
        "id": external_id or f"ext-{next(_counter)}", "from": phone, "to": "+14155550100", "body": body,
    })
    assert response.status_code == 200, response.text
    return response.json()


async def mutate(client: httpx.AsyncClient, document: str, variables: dict, token: str) -> dict:
    """Run a mutation that must succeed; returns its payload."""
    result = data(await gql(client, document, variables, token=token))
    payload = next(iter(result.values()))
    assert payload.get("userErrors") == [], payload
    return payload


class _StatementCounter(logging.Handler):
    """Tortoise logs every statement it sends on `tortoise.db_client` at DEBUG, as
    "<sql>: <values>" (connection set-up messages have other formats)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg in ("%s: %s", "%s") and record.args:
            self.statements.append(str(record.args[0]))


@contextmanager
def counting_statements():
    logger = logging.getLogger("tortoise.db_client")
    counter, level = _StatementCounter(), logger.level
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    try:
        yield counter.statements
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)
