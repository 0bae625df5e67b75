"""Accounts on a running deployment, made as an operator and an admin would: the account
and its admin with `teaminbox create-account`, members with the CreateUser document."""
from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from dataclasses import dataclass, field

import httpx

from tests.support.deployment.environment import run_cli
from tests.support.documents import operation
from tests.support.http import data, gql
from tests.support.teams import PASSWORD, login
from tests.support.webhook import AccountRef

_numbers = itertools.count(1)


@dataclass
class Member:
    id: str
    email: str
    token: str


@dataclass
class Team:
    account: AccountRef
    admin: Member
    members: dict[str, Member] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Member:
        return self.members[name]


async def create_team(client: httpx.AsyncClient, env: dict[str, str], names: tuple[str, ...] = ("bob", "carol"),
                      plan: str = "TEAM") -> Team:
    """An account made with `teaminbox create-account` (in `env`), plus agents added by its
    admin through `client` (an instance's HTTP client)."""
    n = f"{next(_numbers)}{uuid.uuid4().hex[:6]}"
    admin_email = f"admin{n}@team{n}.test"
    created = json.loads(await asyncio.to_thread(
        run_cli, env, "create-account", "--name", f"Team {n}", "--plan", plan, "--admin-email", admin_email,
        "--admin-password", PASSWORD, "--admin-name", f"Admin Number{n}"))
    admin = Member(created["adminId"], admin_email, await login(client, admin_email))
    team = Team(AccountRef(int(created["accountId"]), created["webhookSecret"]), admin)
    for name in names:
        email = f"{name}{n}@team{n}.test"
        result = data(await gql(client, operation("CreateUser"), {"input": {
            "email": email, "name": f"{name.capitalize()} Tester", "role": "AGENT", "password": PASSWORD,
        }}, token=admin.token))["createUser"]
        assert result["userErrors"] == [], result
        team.members[name] = Member(result["user"]["id"], email, await login(client, email))
    return team
