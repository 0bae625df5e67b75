"""An open WebSocket runs each new operation with the member's current role and their
account's current plan, not those it had at `connection_init`: a demotion or a plan
change through HTTP applies to the next operation on a socket opened before it."""
from __future__ import annotations

from models import Plan, Role, User
from tests.support.documents import operation
from tests.support.http import mutate
from tests.support.live import running_server
from tests.support.raw_ws import RawSocket, raw_socket
from tests.support.teams import make_team

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
