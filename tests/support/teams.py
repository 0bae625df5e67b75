"""Accounts for in-process tests: made with the resolvers (the app's own code), every
member logged in over GraphQL."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import httpx

from models import Account, Plan, Role, User
from resolvers.accounts import create_account
from resolvers.members import new_user
from tests.support.documents import operation
from tests.support.http import data, gql

PASSWORD = "correct-horse-battery"
_numbers = itertools.count(1)


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
    """A bearer token from the Login document (which must succeed)."""
    result = data(await gql(client, operation("Login"), {"email": email, "password": password}))["login"]
    assert result["userErrors"] == [], result
    return result["token"]


async def make_team(
    client: httpx.AsyncClient, plan: Plan = Plan.TEAM, roles: dict[str, Role] | None = None
) -> Team:
    """An account with an admin and the given members (name -> role), all logged in."""
    n = next(_numbers)
    admin_email = f"admin{n}@team{n}.test"
    account, admin = await create_account(f"Team {n}", plan, admin_email, PASSWORD, f"Admin Number{n}")
    team = Team(account=account, admin=Member(admin, await login(client, admin_email)))
    for name, role in (roles or {"bob": Role.AGENT, "carol": Role.AGENT}).items():
        email = f"{name}{n}@team{n}.test"
        user = await new_user(account, email=email, name=name.capitalize() + " Tester", role=role, password=PASSWORD)
        team.members[name] = Member(user, await login(client, email))
    return team
