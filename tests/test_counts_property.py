"""Property: after any mix of assignments, status changes and customer messages, the
counts beside the inbox tabs equal what the inbox itself lists, and a plain model of
who holds what agrees with both."""
from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.documents import operation
from tests.support.http import data, gql
from tests.support.teams import Team, make_team
from tests.support.webhook import inbound

MEMBERS = ("admin", "bob", "carol")


@dataclass(frozen=True)
class Step:
    action: str  # inbound_new | inbound_existing | assign | unassign | close | reopen
    target: int = 0  # which conversation (modulo how many there are to pick from)
    actor: int = 0  # index into MEMBERS
    assignee: int = 0  # index into MEMBERS (assign only)


member = st.integers(0, len(MEMBERS) - 1)
target = st.integers(0, 3)  # a small range, so steps keep meeting the same conversations
steps = st.lists(
    st.one_of(
        st.builds(Step, st.just("inbound_new")),
        st.builds(Step, st.just("inbound_existing"), target),
        st.builds(Step, st.just("assign"), target, member, member),
        st.builds(Step, st.just("unassign"), target, member),
        st.builds(Step, st.sampled_from(["close", "reopen"]), target, member),
    ),
    min_size=3,
    max_size=20,
)


@dataclass
class Held:
    status: str = "OPEN"
    assignee: str | None = None  # member id


class Inbox:
    """The team's conversations as the test believes them to be, kept in step with the API."""

    def __init__(self, client, team: Team):
        self.client, self.team = client, team
        self.conversations: dict[str, Held] = {}
        self.phones: dict[str, str] = {}

    def member(self, index: int):
        name = MEMBERS[index]
        return self.team.admin if name == "admin" else self.team[name]

    def pick(self, index: int, *, open_only: bool = False) -> str | None:
        candidates = [cid for cid, held in self.conversations.items() if held.status == "OPEN" or not open_only]
        return candidates[index % len(candidates)] if candidates else None

    async def apply(self, step: Step) -> None:
        if step.action == "inbound_new":
            number = f"+1415555{len(self.conversations):04d}"
            cid = (await inbound(self.client, self.team.account, number))["conversationId"]
            self.conversations[cid], self.phones[cid] = Held(), number
        elif step.action == "inbound_existing":
            cid = self.pick(step.target)
            if cid is not None:
                await inbound(self.client, self.team.account, self.phones[cid], "Me again")
                self.conversations[cid].status = "OPEN"  # a customer writing reopens; the owner stays
        elif step.action in ("assign", "unassign"):
            cid = self.pick(step.target, open_only=True)
            if cid is not None:
                assignee = self.member(step.assignee).id if step.action == "assign" else None
                await self._mutate("assignConversation", operation("AssignConversation"), step.actor,
                                   {"conversationId": cid, "assigneeId": assignee})
                self.conversations[cid].assignee = assignee
        else:
            cid = self.pick(step.target)
            if cid is not None:
                status = "CLOSED" if step.action == "close" else "OPEN"
                await self._mutate("setConversationStatus", operation("SetConversationStatus"), step.actor,
                                   {"conversationId": cid, "status": status})
                self.conversations[cid].status = status

    async def _mutate(self, field: str, document: str, actor: int, variables: dict) -> None:
        result = data(await gql(self.client, document, variables, token=self.member(actor).token))[field]
        assert result["userErrors"] == [], result

    async def listed(self, token: str, filter: dict) -> set[str]:
        """Every conversation id the inbox view lists, paging to the end."""
        seen: list[str] = []
        after = None
        while True:
            page = data(await gql(self.client, operation("InboxPage"),
                                  {"filter": filter, "first": 7, "after": after}, token=token))["inbox"]
            seen.extend(edge["node"]["id"] for edge in page["edges"])
            if not page["pageInfo"]["hasNextPage"]:
                assert len(seen) == len(set(seen)), seen
                return set(seen)
            after = page["pageInfo"]["endCursor"]

    def expected(self, status: str, assignee: object = ...) -> set[str]:
        return {cid for cid, held in self.conversations.items()
                if held.status == status and (assignee is ... or held.assignee == assignee)}


async def check_counts_agree_with_inbox(model: Inbox, status: str) -> None:
    members = [model.member(i) for i in range(len(MEMBERS))]
    anyone = members[0].token
    everything = await model.listed(anyone, {"status": status, "scope": "ALL"})
    unassigned = await model.listed(anyone, {"status": status, "scope": "UNASSIGNED"})
    per_member = {m.id: await model.listed(anyone, {"status": status, "scope": "USER", "assigneeId": m.id})
                  for m in members}
    assert everything == model.expected(status)
    assert unassigned == model.expected(status, None)
    for member_id, listed in per_member.items():
        assert listed == model.expected(status, member_id)

    for viewer in members:
        counts = data(await gql(model.client, operation("InboxCounts"), {"status": status},
                                token=viewer.token))["inboxCounts"]
        mine = await model.listed(viewer.token, {"status": status, "scope": "MINE"})
        by_assignee = {entry["user"]["id"]: entry["count"] for entry in counts["byAssignee"]}
        assert counts["status"] == status
        assert counts["all"] == len(everything)
        assert counts["unassigned"] == len(unassigned)
        assert counts["mine"] == len(mine) == len(per_member[viewer.id])
        assert len(counts["byAssignee"]) == len(members)
        assert by_assignee == {member_id: len(listed) for member_id, listed in per_member.items()}
        assert counts["all"] == counts["unassigned"] + sum(by_assignee.values())


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(initial=st.integers(1, 5), script=steps)
async def test_inbox_counts_equal_what_the_inbox_lists(client, initial, script):
    # given: a fresh team (its own account) for every example, with a few conversations
    model = Inbox(client, await make_team(client))
    for _ in range(initial):
        await model.apply(Step("inbound_new"))

    # when
    for step in script:
        await model.apply(step)

    # then
    for status in ("OPEN", "CLOSED"):
        await check_counts_agree_with_inbox(model, status)
