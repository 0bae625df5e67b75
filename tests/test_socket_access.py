"""An open WebSocket runs each new operation with the member's current role and their
account's current plan, not those it had at `connection_init`: a demotion or a plan
change through HTTP applies to the next operation on a socket opened before it."""
from __future__ import annotations

from models import Plan, Role, User
from tests.support.documents import operation
from tests.support.http import data, gql, mutate
from tests.support.live import running_server
from tests.support.raw_ws import RawSocket, raw_socket
from tests.support.teams import make_team
from tests.support.webhook import inbound

CREATE_USER = operation("CreateUser")
INBOX_COUNTS = operation("InboxCounts")


async def run(socket: RawSocket, operation_id: str, document: str, variables: dict) -> dict:
    """One operation over the socket; its `next` payload."""
    await socket.subscribe(operation_id, document, variables)
    answer = await socket.wait_for(lambda message: message.get("id") == operation_id and message["type"] == "next")
    return answer["payload"]


async def test_a_demoted_admin_cannot_create_admins_over_a_socket_opened_before(settings):
    async with running_server(settings) as server, server.http() as http:
        # given: a second admin with a socket open, who can create members on it
        team = await make_team(http, roles={"ada": Role.ADMIN, "bob": Role.AGENT})
        ada = team["ada"]
        async with raw_socket(server.ws_url) as socket:
            await socket.acknowledged(ada.token)
            before = await run(socket, "1", CREATE_USER, {"input": {
                "email": "first@x.test", "name": "First One", "role": "AGENT", "password": "a-long-password"}})
            assert before["data"]["createUser"]["userErrors"] == []

            # when: the first admin demotes her to AGENT, over HTTP
            await mutate(http, operation("UpdateUser"), {"userId": ada.id, "input": {"role": "AGENT"}},
                         team.admin.token)
            after = await run(socket, "2", CREATE_USER, {"input": {
                "email": "second@x.test", "name": "Second One", "role": "ADMIN", "password": "a-long-password"}})

        # then: the socket's next operation runs as an AGENT
        assert [e["code"] for e in after["data"]["createUser"]["userErrors"]] == ["FORBIDDEN"]
        assert not await User.filter(email="second@x.test").exists()


async def test_a_plan_change_applies_to_the_next_operation_on_an_open_socket(settings):
    async with running_server(settings) as server, server.http() as http:
        # given: an agent's socket on the TEAM plan, where counts are a feature
        team = await make_team(http, plan=Plan.TEAM)
        async with raw_socket(server.ws_url) as socket:
            await socket.acknowledged(team["bob"].token)
            before = await run(socket, "1", INBOX_COUNTS, {"status": "OPEN"})
            assert before["data"]["inboxCounts"]["all"] == 0

            # when: the account moves to STARTER
            await mutate(http, operation("SetAccountPlan"), {"plan": "STARTER"}, team.admin.token)
            after = await run(socket, "2", INBOX_COUNTS, {"status": "OPEN"})

        # then
        assert after["data"] is None
        assert [e["extensions"]["code"] for e in after["errors"]] == ["FEATURE_NOT_IN_PLAN"]


# Running subscriptions follow access changes too: each re-runs its own checks with the
# member as they are now, and ends with that check's error when it no longer passes.

NOTIFICATION_ADDED = operation("NotificationAdded")
INBOX_EVENTS = operation("InboxEvents")
ASSIGN = operation("AssignConversation")
SEND_MESSAGE = operation("SendMessage")


async def cursor(http, token: str) -> str:
    return data(await gql(http, operation("EventCursor"), token=token))["eventCursor"]


def is_next(operation_id: str):
    return lambda message: message.get("id") == operation_id and message["type"] == "next"


def ends(operation_id: str):
    return lambda message: message.get("id") == operation_id and message["type"] in ("error", "complete")


async def test_a_plan_downgrade_ends_a_running_notification_stream_with_its_error(settings):
    async with running_server(settings) as server, server.http() as http:
        # given: bob hears his notifications live on the TEAM plan
        team = await make_team(http, plan=Plan.TEAM)
        conversation_id = (await inbound(http, team.account, "+14155550111"))["conversationId"]
        async with raw_socket(server.ws_url) as socket:
            await socket.acknowledged(team["bob"].token)
            # (from the current cursor: what happens before the stream is registered is replayed)
            await socket.subscribe("n", NOTIFICATION_ADDED, {"after": await cursor(http, team["bob"].token)})
            await mutate(http, ASSIGN, {"conversationId": conversation_id, "assigneeId": team["bob"].id},
                         team.admin.token)
            heard = await socket.wait_for(is_next("n"))
            assert heard["payload"]["data"]["notificationAdded"]["kind"] == "ASSIGNED"

            # when: the account moves to STARTER, which has no assignment notifications
            await mutate(http, operation("SetAccountPlan"), {"plan": "STARTER"}, team.admin.token)

            # then: the stream ends with the plan's error; the socket itself stays open
            failed = await socket.wait_for(is_next("n"))
            assert failed["payload"]["data"] is None
            assert [e["extensions"]["code"] for e in failed["payload"]["errors"]] == ["FEATURE_NOT_IN_PLAN"]
            assert (await socket.wait_for(ends("n")))["type"] == "complete"
            assert (await socket.pong())["type"] == "pong"


async def test_a_plan_downgrade_ends_a_running_assignee_view_and_stops_counts_on_the_shared_one(settings):
    async with running_server(settings) as server, server.http() as http:
        team = await make_team(http, plan=Plan.TEAM)
        async with raw_socket(server.ws_url) as socket:
            # given: bob watches his own conversations, and the whole open inbox (with counts)
            await socket.acknowledged(team["bob"].token)
            after = await cursor(http, team["bob"].token)
            await socket.subscribe("mine", INBOX_EVENTS, {"filter": {"scope": "MINE"}, "after": after})
            await socket.subscribe("all", INBOX_EVENTS, {"filter": {"scope": "ALL"}, "after": after})
            await inbound(http, team.account, "+14155550112")
            kinds = {(await socket.wait_for(is_next("all")))["payload"]["data"]["inboxEvents"]["__typename"]
                     for _ in range(2)}
            assert kinds == {"MessageAdded", "InboxCountsChanged"}

            # when: the account moves to STARTER (no assignee filters, no counts)
            await mutate(http, operation("SetAccountPlan"), {"plan": "STARTER"}, team.admin.token)

            # then: the assignee view ends with the plan's error
            failed = await socket.wait_for(is_next("mine"))
            assert [e["extensions"]["code"] for e in failed["payload"]["errors"]] == ["FEATURE_NOT_IN_PLAN"]
            assert (await socket.wait_for(ends("mine")))["type"] == "complete"
            # and: the shared view goes on, with the messages and without the counts
            # (a new conversation, which moves the counts, then a message in it, which does
            # not: the stream handles events in order, so counts for the first would come
            # before the second)
            await inbound(http, team.account, "+14155550113", body="first")
            await inbound(http, team.account, "+14155550113", body="second")
            heard = [(await socket.wait_for(is_next("all")))["payload"]["data"]["inboxEvents"] for _ in range(2)]
            assert [(item["__typename"], item["message"]["body"]) for item in heard] == [
                ("MessageAdded", "first"), ("MessageAdded", "second")]


async def test_a_demoted_agent_keeps_the_streams_an_analyst_may_have_but_cannot_reply(settings):
    async with running_server(settings) as server, server.http() as http:
        team = await make_team(http, plan=Plan.TEAM)
        bob = team["bob"]
        conversation_id = (await inbound(http, team.account, "+14155550114"))["conversationId"]
        async with raw_socket(server.ws_url) as socket:
            await socket.acknowledged(bob.token)
            after = await cursor(http, bob.token)
            await socket.subscribe("all", INBOX_EVENTS, {"filter": {"scope": "ALL"}, "after": after})
            # when: bob becomes an ANALYST while his view runs
            await mutate(http, operation("UpdateUser"), {"userId": bob.id, "input": {"role": "ANALYST"}},
                         team.admin.token)
            # then: the view still delivers (analysts may watch the inbox)
            await inbound(http, team.account, "+14155550114", body="still there?")
            heard = await socket.wait_for(is_next("all"))
            assert heard["payload"]["data"]["inboxEvents"]["__typename"] == "MessageAdded"
            # and: his next operation on the same socket runs as an analyst
            reply = await run(socket, "send", SEND_MESSAGE, {"conversationId": conversation_id, "body": "hi"})
        assert [e["code"] for e in reply["data"]["sendMessage"]["userErrors"]] == ["FORBIDDEN"]
