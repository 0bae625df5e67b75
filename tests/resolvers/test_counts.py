"""resolvers.inbox (inbox_counts, inbox_page, inbox_total, the assignee scopes) against a
COUNT over the conversation rows, after assignments, status changes, customer messages
and deactivations."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import Conversation, ConversationStatus, Plan, Role
from resolvers.assignment import AssignmentConflict, ExpectedAssignee, assign_conversation
from resolvers.auth import login
from resolvers.conversations import set_conversation_status
from resolvers.errors import DomainError, ErrorCode
from resolvers.inbox import AssigneeScope, InboxCursor, InboxFilter, inbox_counts, inbox_page, inbox_total
from resolvers.members import update_user
from resolvers.viewer import Viewer
from tests.resolvers.conftest import PASSWORD, Factory, Team, active_member_ids, rows_per_assignee

STATUSES = (ConversationStatus.OPEN, ConversationStatus.CLOSED)


async def listed(viewer: Viewer, inbox_filter: InboxFilter) -> list[int]:
    """Every conversation id the inbox lists under the filter, paging to the end (3 a page)."""
    ids: list[int] = []
    after = None
    while True:
        page = await inbox_page(viewer, inbox_filter, first=3, after=after)
        ids += [conversation.id for conversation in page[:3]]
        if len(page) <= 3:
            return ids
        after = InboxCursor(page[2].last_activity_at, page[2].id)


async def assert_counts_match_the_rows(team: Team) -> None:
    """For every status and every member as viewer: the counts equal a COUNT over the
    conversation rows, every active member is listed (zeros included), the tabs add up,
    and each scope's total and listing hold exactly the counted rows."""
    active = await active_member_ids(team.account)
    for status in STATUSES:
        rows = await rows_per_assignee(team.account, status)
        for viewer in team.viewers.values():
            counts = await inbox_counts(viewer, status)
            by_assignee = {user.id: n for user, n in counts.by_assignee}
            assert counts.status == status
            assert counts.all == sum(rows.values())
            assert counts.unassigned == rows[None]
            assert counts.mine == rows[viewer.user_id]
            assert by_assignee == {member: rows[member] for member in active | {a for a in rows if a is not None}}
            assert counts.all == counts.unassigned + sum(by_assignee.values())
        await assert_scopes_list_the_rows(team.admin, team, status)


async def assert_scopes_list_the_rows(viewer: Viewer, team: Team, status: ConversationStatus) -> None:
    """Each scope lists exactly its rows, newest activity first, without repeats, and its total agrees."""
    rows = await Conversation.filter(account_id=team.account.id, status=status).order_by("-last_activity_at", "-id")
    active = await active_member_ids(team.account)
    scopes = {
        InboxFilter(status, AssigneeScope.ALL): [row.id for row in rows],
        InboxFilter(status, AssigneeScope.UNASSIGNED): [row.id for row in rows if row.assignee_id is None],
        InboxFilter(status, AssigneeScope.MINE): [row.id for row in rows if row.assignee_id == viewer.user_id],
        **{InboxFilter(status, AssigneeScope.USER, str(member)): [row.id for row in rows if row.assignee_id == member]
           for member in active},
    }
    for inbox_filter, expected in scopes.items():
        assert await listed(viewer, inbox_filter) == expected, inbox_filter
        assert await inbox_total(viewer, inbox_filter) == len(expected), inbox_filter


async def test_a_new_team_counts_every_active_member_with_zero(team: Team):
    # when
    counts = await inbox_counts(team["bob"], ConversationStatus.OPEN)

    # then
    assert (counts.all, counts.unassigned, counts.mine) == (0, 0, 0)
    assert sorted(user.id for user, _ in counts.by_assignee) == sorted(team.user_ids())
    assert {n for _, n in counts.by_assignee} == {0}


async def test_counts_follow_assign_reassign_and_unassign(factory: Factory, team: Team):
    # given
    conversations = [await factory.conversation(team) for _ in range(3)]
    await assert_counts_match_the_rows(team)
    a, b, c = (str(conversation.id) for conversation in conversations)

    # when / then: after every change the counts agree with the rows
    await assign_conversation(team["bob"], a, team.id("bob"))
    await assert_counts_match_the_rows(team)
    await assign_conversation(team["bob"], b, team.id("carol"))
    await assert_counts_match_the_rows(team)
    await assign_conversation(team.admin, a, team.id("carol"))
    await assert_counts_match_the_rows(team)
    await assign_conversation(team["carol"], b, None)
    await assert_counts_match_the_rows(team)
    await assign_conversation(team["carol"], c, team.id("admin"))
    await assert_counts_match_the_rows(team)

    carol = await inbox_counts(team["carol"], ConversationStatus.OPEN)
    assert (carol.all, carol.unassigned, carol.mine) == (3, 1, 1)


async def test_closing_and_reopening_moves_a_conversation_between_the_status_tabs_with_its_owner(
    factory: Factory, team: Team
):
    # given
    conversation = await factory.conversation(team)
    await assign_conversation(team["bob"], str(conversation.id), team.id("bob"))

    # when
    await set_conversation_status(team["bob"], str(conversation.id), ConversationStatus.CLOSED)

    # then
    await assert_counts_match_the_rows(team)
    closed = await inbox_counts(team["bob"], ConversationStatus.CLOSED)
    assert (closed.all, closed.mine) == (1, 1)
    assert (await inbox_counts(team["bob"], ConversationStatus.OPEN)).all == 0

    # when
    await set_conversation_status(team["bob"], str(conversation.id), ConversationStatus.OPEN)

    # then
    await assert_counts_match_the_rows(team)
    assert (await inbox_counts(team["bob"], ConversationStatus.OPEN)).mine == 1
    assert (await inbox_counts(team["bob"], ConversationStatus.CLOSED)).all == 0


async def test_a_customer_writing_counts_a_new_conversation_unassigned_and_reopens_a_closed_one(
    factory: Factory, team: Team
):
    # given: a closed conversation carol holds
    phone = factory.phone()
    first = await factory.customer_writes(team.account, phone)
    await assign_conversation(team["bob"], str(first.conversation_id), team.id("carol"))
    await set_conversation_status(team["carol"], str(first.conversation_id), ConversationStatus.CLOSED)

    # when
    await factory.customer_writes(team.account, phone, "Still there?")
    await factory.customer_writes(team.account, factory.phone(), "New here")

    # then
    await assert_counts_match_the_rows(team)
    counts = await inbox_counts(team["carol"], ConversationStatus.OPEN)
    assert (counts.all, counts.unassigned, counts.mine) == (2, 1, 1)


async def test_deactivating_a_member_moves_their_conversations_to_unassigned(factory: Factory, team: Team):
    # given: carol holds two open conversations and a closed one
    conversations = [await factory.conversation(team) for _ in range(3)]
    for conversation in conversations:
        await assign_conversation(team["bob"], str(conversation.id), team.id("carol"))
    await set_conversation_status(team["bob"], str(conversations[0].id), ConversationStatus.CLOSED)

    # when
    await update_user(team.admin, team.id("carol"), active=False)
    del team.viewers["carol"]  # her session no longer authenticates

    # then: she is no longer listed, and what she held is unassigned under the same status
    await assert_counts_match_the_rows(team)
    for status, held in ((ConversationStatus.OPEN, 2), (ConversationStatus.CLOSED, 1)):
        counts = await inbox_counts(team.admin, status)
        assert (counts.all, counts.unassigned) == (held, held)
        assert {user.id for user, _ in counts.by_assignee} == set(team.user_ids())


async def test_the_starter_plan_has_no_counts_nor_assignee_scopes_but_lists_everything(factory: Factory):
    # given
    team = await factory.team(Plan.STARTER)
    conversation = await factory.conversation(team)

    # when
    everything = await listed(team["bob"], InboxFilter())

    # then
    assert everything == [conversation.id]
    with pytest.raises(DomainError) as counts:
        await inbox_counts(team["bob"], ConversationStatus.OPEN)
    assert counts.value.code == ErrorCode.FEATURE_NOT_IN_PLAN
    for scope, assignee in ((AssigneeScope.MINE, None), (AssigneeScope.UNASSIGNED, None),
                            (AssigneeScope.USER, team.id("bob"))):
        with pytest.raises(DomainError) as scoped:
            await inbox_page(team["bob"], InboxFilter(scope=scope, assignee_id=assignee), first=10, after=None)
        assert scoped.value.code == ErrorCode.FEATURE_NOT_IN_PLAN


@pytest.mark.parametrize(
    ("scope", "assignee"),
    [(AssigneeScope.USER, None), (AssigneeScope.ALL, "1"), (AssigneeScope.MINE, "1"), (AssigneeScope.UNASSIGNED, "1")],
)
async def test_an_assignee_id_is_needed_with_scope_user_and_only_there(
    team: Team, scope: AssigneeScope, assignee: str | None
):
    # when
    with pytest.raises(DomainError) as raised:
        await inbox_page(team["bob"], InboxFilter(scope=scope, assignee_id=assignee), first=10, after=None)

    # then
    assert (raised.value.code, raised.value.field) == (ErrorCode.VALIDATION, "assigneeId")


async def test_scope_user_with_another_accounts_member_is_not_found(factory: Factory, team: Team):
    # given
    other = await factory.team()
    await assign_conversation(other["bob"], str((await factory.conversation(other)).id), other.id("bob"))

    # when
    with pytest.raises(DomainError) as raised:
        await inbox_page(team["bob"], InboxFilter(scope=AssigneeScope.USER, assignee_id=other.id("bob")),
                         first=10, after=None)

    # then
    assert (raised.value.code, raised.value.field) == (ErrorCode.NOT_FOUND, "assigneeId")


async def test_counts_and_inbox_never_include_another_accounts_conversations(factory: Factory, team: Team):
    # given
    other = await factory.team()
    for _ in range(2):
        await factory.conversation(other)
    mine = await factory.conversation(team)

    # when
    counts = await inbox_counts(team["bob"], ConversationStatus.OPEN)
    everything = await listed(team["bob"], InboxFilter())

    # then
    assert (counts.all, counts.unassigned) == (1, 1)
    assert everything == [mine.id]
    assert {user.account_id for user, _ in counts.by_assignee} == {team.account.id}


# The property: any sequence of changes keeps counts, rows and a plain model in step.

WRITERS = ASSIGNEES = ("admin", "bob", "carol")
LEAVERS = ("carol", "dave")  # who may be deactivated and reactivated: an agent and the analyst


@dataclass(frozen=True)
class Step:
    action: str  # write_new | write_again | assign | claim | close | reopen | deactivate | reactivate
    target: int = 0  # which conversation, modulo how many there are
    actor: int = 0  # index into WRITERS
    # index into ASSIGNEES, -1 for nobody: whom `assign` gives it to (nobody: unassign), whom `claim`
    # expects to hold it (a compare-and-set, the actor taking it); modulo 2, which of LEAVERS is (de)activated
    member: int = 0


# Weighted towards changes of owner and deactivations, which are where counts can drift.
ACTIONS = ("write_new", "write_again", "assign", "assign", "assign", "claim", "claim",
           "close", "reopen", "deactivate", "deactivate", "reactivate")
steps = st.lists(
    st.builds(Step, st.sampled_from(ACTIONS), st.integers(0, 5), st.integers(0, len(WRITERS) - 1),
              st.integers(-1, len(ASSIGNEES) - 1)),
    min_size=3,
    max_size=30,
)


@dataclass
class Held:
    phone: str
    status: ConversationStatus = ConversationStatus.OPEN
    assignee: int | None = None


class Model:
    """Who holds what, as the test believes it, driven through the resolvers."""

    def __init__(self, factory: Factory, team: Team):
        self.factory, self.team = factory, team
        self.conversations: dict[int, Held] = {}
        self.inactive: set[str] = set()

    def _pick(self, index: int) -> int | None:
        ids = sorted(self.conversations)
        return ids[index % len(ids)] if ids else None

    async def apply(self, step: Step) -> None:
        team = self.team
        if step.action in ("deactivate", "reactivate"):
            await self._set_active(LEAVERS[step.member % 2], step.action == "reactivate")
            return
        if WRITERS[step.actor] in self.inactive:  # a deactivated member can no longer act
            return
        actor = team[WRITERS[step.actor]]
        if step.action == "write_new":
            phone = self.factory.phone()
            message = await self.factory.customer_writes(team.account, phone)
            self.conversations[message.conversation_id] = Held(phone)
            return
        target = self._pick(step.target)
        if target is None:
            return
        held = self.conversations[target]
        if step.action == "write_again":
            await self.factory.customer_writes(team.account, held.phone, "Me again")
            held.status = ConversationStatus.OPEN
        elif step.action in ("close", "reopen"):
            status = ConversationStatus.CLOSED if step.action == "close" else ConversationStatus.OPEN
            await set_conversation_status(actor, str(target), status)
            held.status = status
        else:
            await self._assign(step, actor, target, held)

    async def _set_active(self, name: str, active: bool) -> None:
        team = self.team
        await update_user(team.admin, team.id(name), active=active)
        if not active:
            self.inactive.add(name)
            for held in self.conversations.values():
                if held.assignee == team[name].user_id:
                    held.assignee = None
        elif name in self.inactive:  # back, with a new login (deactivation revoked the old one)
            self.inactive.discard(name)
            team.tokens[name], _ = await login(team.emails[name], PASSWORD)
            await team.relogin(name)

    async def _assign(self, step: Step, actor: Viewer, target: int, held: Held) -> None:
        compare = step.action == "claim"
        member = None if step.member < 0 else self.team[ASSIGNEES[step.member]]
        if compare:  # the actor takes it, expecting `member` (maybe stale) to hold it
            name: str | None = WRITERS[step.actor]
            assignee: int | None = actor.user_id
            expected_id = member.user_id if member else None
            expected = ExpectedAssignee(None if expected_id is None else str(expected_id))
        else:
            name = ASSIGNEES[step.member] if member else None
            assignee, expected_id, expected = (member.user_id if member else None), None, None
        try:
            await assign_conversation(actor, str(target), None if assignee is None else str(assignee),
                                      expected=expected)
        except AssignmentConflict as conflict:
            assert compare and held.assignee != expected_id
            assert (conflict.current.assignee.id if conflict.current.assignee else None) == held.assignee
            return
        except DomainError as refused:
            assert (refused.code, name in self.inactive) == (ErrorCode.VALIDATION, True)
            return
        assert name not in self.inactive
        assert not compare or held.assignee == expected_id
        held.assignee = assignee

    async def assert_rows_match(self) -> None:
        for status in STATUSES:
            believed = [held.assignee for held in self.conversations.values() if held.status == status]
            assert await rows_per_assignee(self.team.account, status) == Counter(believed)


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(initial=st.integers(1, 4), script=steps)
async def test_any_sequence_of_changes_keeps_counts_equal_to_the_rows(factory: Factory, initial: int, script):
    # given: a team of its own for every example, with a few conversations
    model = Model(factory, await factory.team(roles={"bob": Role.AGENT, "carol": Role.AGENT, "dave": Role.ANALYST}))
    for _ in range(initial):
        await model.apply(Step("write_new"))

    # when
    for step in script:
        await model.apply(step)

    # then
    await model.assert_rows_match()
    for name in model.inactive:
        del model.team.viewers[name]
    await assert_counts_match_the_rows(model.team)
