"""resolvers.members: admins create members, change their role, deactivate and reactivate
them (sessions revoked, conversations unassigned with history), and an account always
keeps an active admin."""
from __future__ import annotations

import asyncio

import pytest

from models import ConversationStatus, Role, Session, User
from resolvers.assignment import assign_conversation
from resolvers.auth import authenticate, login
from resolvers.conversations import set_conversation_status
from resolvers.errors import DomainError, ErrorCode
from resolvers.inbox import inbox_counts
from resolvers.members import create_user, team_members, update_user
from resolvers.passwords import MIN_PASSWORD_LENGTH
from subscriptions.events import CONVERSATION_ASSIGNED
from tests.resolvers.conftest import PASSWORD, Factory, Team, events, history, stored


async def test_an_admin_creates_a_member_who_can_log_in(team: Team):
    # when
    created = await create_user(team.admin, email="  Dora@Example.TEST ", name="  Dora   Explorer ",
                                role=Role.ANALYST, password="dora-secret-pass")

    # then
    user = await User.get(id=created.id)
    assert (user.account_id, user.email, user.name, user.role, user.active) == (
        team.account.id, "dora@example.test", "Dora Explorer", Role.ANALYST, True)
    assert user.password_hash != "dora-secret-pass"
    token, _ = await login("DORA@example.test", "dora-secret-pass")
    viewer = await authenticate(token)
    assert viewer is not None and (viewer.user_id, viewer.account_id) == (user.id, team.account.id)
    assert user.id in [member.id for member in await team_members(team["bob"])]


async def test_an_email_already_in_use_is_refused_whatever_its_case(factory: Factory, team: Team):
    # given: the email is taken, in another account even
    other = await factory.team()
    await create_user(other.admin, email="dora@example.test", name="Dora Explorer", role=Role.AGENT,
                      password="dora-secret-pass")

    # when
    with pytest.raises(DomainError) as raised:
        await create_user(team.admin, email="DORA@example.test", name="Another Dora", role=Role.AGENT,
                          password="another-password")

    # then
    assert (raised.value.code, raised.value.field) == (ErrorCode.ALREADY_EXISTS, "email")
    assert [u.account_id for u in await User.filter(email="dora@example.test")] == [other.account.id]


async def test_a_password_shorter_than_the_minimum_is_refused(team: Team):
    # when
    with pytest.raises(DomainError) as raised:
        await create_user(team.admin, email="dora@example.test", name="Dora", role=Role.AGENT,
                          password="x" * (MIN_PASSWORD_LENGTH - 1))

    # then
    assert (raised.value.code, raised.value.field) == (ErrorCode.VALIDATION, "password")
    assert not await User.exists(email="dora@example.test")


async def test_a_password_of_the_minimum_length_is_accepted(team: Team):
    # when
    await create_user(team.admin, email="dora@example.test", name="Dora", role=Role.AGENT,
                      password="x" * MIN_PASSWORD_LENGTH)

    # then
    token, user = await login("dora@example.test", "x" * MIN_PASSWORD_LENGTH)
    assert user.account_id == team.account.id and await authenticate(token) is not None


@pytest.mark.parametrize("email", ["not-an-email", "dora@", "@example.test", "dora@example", "do ra@example.test"])
async def test_an_invalid_email_is_refused(team: Team, email: str):
    # when
    with pytest.raises(DomainError) as raised:
        await create_user(team.admin, email=email, name="Dora", role=Role.AGENT, password="dora-secret-pass")

    # then
    assert (raised.value.code, raised.value.field) == (ErrorCode.VALIDATION, "email")
    assert await User.filter(account_id=team.account.id).count() == len(team.viewers)


@pytest.mark.parametrize("name", ["bob", "dave"])
async def test_only_admins_create_members(team: Team, name: str):
    # when
    with pytest.raises(DomainError) as raised:
        await create_user(team[name], email="dora@example.test", name="Dora", role=Role.ADMIN,
                          password="dora-secret-pass")

    # then
    assert raised.value.code == ErrorCode.FORBIDDEN
    assert not await User.exists(email="dora@example.test")


async def test_an_admin_changes_a_members_role_and_it_takes_effect(factory: Factory, team: Team):
    # given
    conversation = await factory.conversation(team)

    # when: bob becomes an analyst
    updated = await update_user(team.admin, team.id("bob"), role=Role.ANALYST)

    # then
    assert (await User.get(id=team["bob"].user_id)).role == Role.ANALYST == updated.role
    bob = await team.relogin("bob")
    with pytest.raises(DomainError) as raised:
        await assign_conversation(bob, str(conversation.id), team.id("bob"))
    assert raised.value.code == ErrorCode.FORBIDDEN


@pytest.mark.parametrize("name", ["bob", "dave"])
async def test_only_admins_change_members(team: Team, name: str):
    # when
    with pytest.raises(DomainError) as raised:
        await update_user(team[name], team.id(name), role=Role.ADMIN)

    # then
    assert raised.value.code == ErrorCode.FORBIDDEN
    assert (await User.get(id=team[name].user_id)).role == team[name].role


async def test_another_accounts_member_cannot_be_changed(factory: Factory, team: Team):
    # given
    other = await factory.team()

    # when
    with pytest.raises(DomainError) as raised:
        await update_user(team.admin, other.id("bob"), active=False)

    # then
    assert (raised.value.code, raised.value.field) == (ErrorCode.NOT_FOUND, "userId")
    assert (await User.get(id=other["bob"].user_id)).active
    assert await authenticate(other.tokens["bob"]) is not None


async def test_deactivating_a_member_ends_their_sessions_and_login(team: Team):
    # given: bob is logged in twice
    second_token, _ = await login(team.emails["bob"], PASSWORD)

    # when
    await update_user(team.admin, team.id("bob"), active=False)

    # then
    assert await authenticate(team.tokens["bob"]) is None
    assert await authenticate(second_token) is None
    assert await Session.filter(user_id=team["bob"].user_id, revoked_at=None).count() == 0
    with pytest.raises(DomainError) as raised:
        await login(team.emails["bob"], PASSWORD)
    assert raised.value.code == ErrorCode.INVALID_CREDENTIALS
    assert not (await User.get(id=team["bob"].user_id)).active
    assert team["bob"].user_id not in [u.id for u in await team_members(team.admin)]
    assert team["bob"].user_id in [u.id for u in await team_members(team.admin, include_inactive=True)]
    assert await authenticate(team.tokens["carol"]) is not None


async def test_deactivating_a_member_unassigns_their_conversations_with_a_history_note(factory: Factory, team: Team):
    # given: bob holds two conversations (one closed), carol one
    bobs = [await factory.conversation(team) for _ in range(2)]
    carols = await factory.conversation(team)
    for conversation in bobs:
        await assign_conversation(team["bob"], str(conversation.id), team.id("bob"))
    await assign_conversation(team["carol"], str(carols.id), team.id("carol"))
    await set_conversation_status(team["bob"], str(bobs[1].id), ConversationStatus.CLOSED)
    logged = len(await events(team.account, CONVERSATION_ASSIGNED))

    # when
    await update_user(team.admin, team.id("bob"), active=False)

    # then
    for conversation in bobs:
        assert (await stored(conversation)).assignee_id is None
        last = (await history(conversation))[-1]
        assert (last.actor_id, last.previous_assignee_id, last.assignee_id, last.note) == (
            team.admin.user_id, team["bob"].user_id, None, "Unassigned: member deactivated")
    assert (await stored(carols)).assignee_id == team["carol"].user_id
    assert len(await history(carols)) == 1
    unassigned = (await events(team.account, CONVERSATION_ASSIGNED))[logged:]
    assert [e.conversation_id for e in unassigned] == [c.id for c in bobs]  # in id order
    assert {e.payload["assignee_id"] for e in unassigned} == {None}
    open_counts = await inbox_counts(team.admin, ConversationStatus.OPEN)
    assert (open_counts.all, open_counts.unassigned) == (2, 1)
    assert team["bob"].user_id not in [user.id for user, _ in open_counts.by_assignee]


async def test_a_reactivated_member_can_log_in_and_be_assigned_again(factory: Factory, team: Team):
    # given
    conversation = await factory.conversation(team)
    await update_user(team.admin, team.id("bob"), active=False)

    # when
    await update_user(team.admin, team.id("bob"), active=True)

    # then: a new login works (the old session stays revoked)
    token, _ = await login(team.emails["bob"], PASSWORD)
    assert await authenticate(token) is not None
    assert await authenticate(team.tokens["bob"]) is None
    await assign_conversation(team["carol"], str(conversation.id), team.id("bob"))
    assert (await stored(conversation)).assignee_id == team["bob"].user_id


@pytest.mark.parametrize("change", [{"role": Role.AGENT}, {"role": Role.ANALYST}, {"active": False}],
                         ids=["to-agent", "to-analyst", "deactivate"])
async def test_the_only_admin_cannot_demote_or_deactivate_themself(team: Team, change: dict):
    # when
    with pytest.raises(DomainError) as raised:
        await update_user(team.admin, team.id("admin"), **change)

    # then
    assert (raised.value.code, raised.value.field) == (ErrorCode.FORBIDDEN, "userId")
    admin = await User.get(id=team.admin.user_id)
    assert (admin.role, admin.active) == (Role.ADMIN, True)
    assert await authenticate(team.tokens["admin"]) is not None


async def test_an_admin_can_step_down_once_another_admin_exists(team: Team):
    # given
    await update_user(team.admin, team.id("bob"), role=Role.ADMIN)

    # when
    await update_user(team.admin, team.id("admin"), role=Role.AGENT)

    # then
    roles = {u.id: u.role for u in await User.filter(account_id=team.account.id)}
    assert (roles[team.admin.user_id], roles[team["bob"].user_id]) == (Role.AGENT, Role.ADMIN)


async def test_an_inactive_admin_does_not_count_as_the_admin_an_account_keeps(team: Team):
    # given: bob was made an admin, then deactivated
    await update_user(team.admin, team.id("bob"), role=Role.ADMIN)
    await update_user(team.admin, team.id("bob"), active=False)

    # when
    with pytest.raises(DomainError) as raised:
        await update_user(team.admin, team.id("admin"), role=Role.AGENT)

    # then
    assert raised.value.code == ErrorCode.FORBIDDEN
    assert (await User.get(id=team.admin.user_id)).role == Role.ADMIN


async def test_two_admins_stepping_down_at_once_leave_one_admin(team: Team):
    # given
    await update_user(team.admin, team.id("bob"), role=Role.ADMIN)
    bob = await team.relogin("bob")

    # when
    outcomes = await asyncio.gather(
        update_user(team.admin, team.id("admin"), role=Role.AGENT),
        update_user(bob, team.id("bob"), role=Role.AGENT),
        return_exceptions=True,
    )

    # then
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(refused) == 1 and isinstance(refused[0], DomainError) and refused[0].code == ErrorCode.FORBIDDEN
    admins = await User.filter(account_id=team.account.id, role=Role.ADMIN, active=True).count()
    assert admins == 1
