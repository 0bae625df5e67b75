"""Factories for resolver-level tests: accounts and members made with the resolvers
themselves, viewers from a real login (resolvers.auth), customers writing in through
resolvers.inbound, and read-backs of what the database holds."""
from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from starlette.applications import Starlette

from models import (
    Account,
    AssignmentEvent,
    Conversation,
    ConversationStatus,
    Event,
    Message,
    Notification,
    Plan,
    Role,
    User,
)
from resolvers.accounts import create_account
from resolvers.auth import authenticate, login
from resolvers.inbound import InboundMessage, receive_inbound
from resolvers.members import new_user
from resolvers.viewer import Viewer
from tests.support.graphql_path import GENERAL

PASSWORD = "correct-horse-battery"
BUSINESS_NUMBER = "+14155550100"
# The members every team has besides its admin: two agents and an analyst.
DEFAULT_ROLES = {"bob": Role.AGENT, "carol": Role.AGENT, "dave": Role.ANALYST}

_numbers = itertools.count(1)


@pytest.fixture
def graphql_path() -> str:
    """Resolvers never see GraphQL: one app is enough (the root conftest runs both paths)."""
    return GENERAL


@dataclass
class Team:
    """An account, its members' viewers (each from a real login) and their bearer tokens."""

    account: Account
    viewers: dict[str, Viewer]
    tokens: dict[str, str]
    emails: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Viewer:
        return self.viewers[name]

    @property
    def admin(self) -> Viewer:
        return self.viewers["admin"]

    def id(self, name: str) -> str:
        """A member's id as a client sends it."""
        return str(self.viewers[name].user_id)

    def user_ids(self) -> list[int]:
        return [viewer.user_id for viewer in self.viewers.values()]

    async def relogin(self, name: str) -> Viewer:
        """A fresh viewer for the member's session (after their role or the plan changed)."""
        viewer = await authenticate(self.tokens[name])
        assert viewer is not None, f"{name}'s session no longer authenticates"
        self.viewers[name] = viewer
        return viewer


class Factory:
    def __init__(self) -> None:
        self._phones = itertools.count(1)

    async def team(self, plan: Plan = Plan.TEAM, roles: dict[str, Role] | None = None) -> Team:
        """An account with an admin and the given members (name -> role), all logged in."""
        n = next(_numbers)
        emails = {"admin": f"admin{n}@team{n}.test"}
        account, _ = await create_account(f"Team {n}", plan, emails["admin"], PASSWORD, f"Admin Number{n}")
        for name, role in (DEFAULT_ROLES if roles is None else roles).items():
            emails[name] = f"{name}{n}@team{n}.test"
            await new_user(account, email=emails[name], name=f"{name.capitalize()} Tester{n}", role=role,
                           password=PASSWORD)
        team = Team(account=account, viewers={}, tokens={}, emails=emails)
        for name, email in emails.items():
            team.tokens[name], _ = await login(email, PASSWORD)
            await team.relogin(name)
        return team

    def phone(self) -> str:
        """A valid number no customer of this test has written from yet."""
        return f"+1415555{next(self._phones):04d}"

    async def customer_writes(
        self, account: Account, phone: str, body: str = "Hello", *, external_id: str | None = None,
        received_at: datetime | None = None,
    ) -> Message:
        """A delivery from the messaging provider, which must be stored as a new message."""
        message, created = await receive_inbound(account, InboundMessage(
            external_id=external_id or f"ext-{next(_numbers)}", from_phone=phone, to_phone=BUSINESS_NUMBER,
            body=body, received_at=received_at,
        ))
        assert created
        return message

    async def conversation(self, team: Team) -> Conversation:
        """A new conversation: a customer never seen before writes in."""
        message = await self.customer_writes(team.account, self.phone())
        return await Conversation.get(id=message.conversation_id)


@pytest.fixture
def factory(app: Starlette) -> Factory:
    """Needs the app: its lifespan initialises Tortoise on this test's fresh database and installs the bus."""
    return Factory()


@pytest.fixture
async def team(factory: Factory) -> Team:
    return await factory.team()


# Read-backs: what the database holds, independent of the code under test.

async def stored(conversation: Conversation | int) -> Conversation:
    return await Conversation.get(id=conversation if isinstance(conversation, int) else conversation.id)


async def history(conversation: Conversation | int) -> list[AssignmentEvent]:
    conversation_id = conversation if isinstance(conversation, int) else conversation.id
    return await AssignmentEvent.filter(conversation_id=conversation_id).order_by("id")


async def events(account: Account, kind: str) -> list[Event]:
    """The durable log's events of one kind for an account, oldest first."""
    return await Event.filter(account_id=account.id, kind=kind).order_by("seq")


async def traces(conversation: Conversation) -> tuple[int, int, int]:
    """How much a change left behind: the conversation's history rows, and every event and notification."""
    return len(await history(conversation)), await Event.all().count(), await Notification.all().count()


async def notifications_of(viewer: Viewer) -> list[Notification]:
    return await Notification.filter(user_id=viewer.user_id).order_by("id")


async def rows_per_assignee(account: Account, status: ConversationStatus) -> Counter[int | None]:
    """A COUNT over the conversation rows, per assignee (None: unassigned)."""
    rows = await Conversation.filter(account_id=account.id, status=status).values("assignee_id")
    return Counter(row["assignee_id"] for row in rows)


async def active_member_ids(account: Account) -> set[int]:
    return {row["id"] for row in await User.filter(account_id=account.id, active=True).values("id")}
