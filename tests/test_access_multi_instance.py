"""Access follows every change on every instance: a change made through instance 1
restricts or closes what the member has open on instance 2, at once (real `teaminbox
serve` processes sharing PostgreSQL and Redis)."""
from __future__ import annotations

import pytest

from subscriptions.protocol import FORBIDDEN_CLOSE_CODE
from tests.support.deployment.environment import skip_reason
from tests.support.deployment.instances import deployment
from tests.support.deployment.teams import create_team
from tests.support.documents import operation
from tests.support.http import data, gql, mutate
from tests.support.raw_ws import RawSocket, raw_socket
from tests.support.webhook import inbound

pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")

UPDATE_USER = operation("UpdateUser")


def for_operation(operation_id: str, kind: str = "next"):
    return lambda message: message.get("id") == operation_id and message["type"] == kind


async def run(socket: RawSocket, operation_id: str, document: str, variables: dict) -> dict:
    await socket.subscribe(operation_id, document, variables)
    return (await socket.wait_for(for_operation(operation_id)))["payload"]


async def test_role_plan_and_state_changes_on_one_instance_apply_to_sockets_on_the_other(tmp_path):
    async with deployment(tmp_path, 2) as cluster, cluster[0].http() as one:
        team = await create_team(one, cluster.env)
        bob, carol = team["bob"], team["carol"]
        await mutate(one, UPDATE_USER, {"userId": bob.id, "input": {"role": "ADMIN"}}, team.admin.token)
        conversation_id = (await inbound(one, team.account, "+14155550131"))["conversationId"]

        async with raw_socket(cluster[1].ws_url) as bobs, raw_socket(cluster[1].ws_url) as carols:
            # given: on instance 2, bob (an admin) hears his notifications and carol has a socket
            await bobs.acknowledged(bob.token)
            await carols.acknowledged(carol.token)
            # (from the current cursor: what happens before the stream is registered is replayed)
            cursor = data(await gql(one, operation("EventCursor"), token=bob.token))["eventCursor"]
            await bobs.subscribe("n", operation("NotificationAdded"), {"after": cursor})
            await mutate(one, operation("AssignConversation"),
                         {"conversationId": conversation_id, "assigneeId": bob.id}, team.admin.token)
            assert (await bobs.wait_for(for_operation("n")))["payload"]["data"]["notificationAdded"]

            # when: through instance 1, bob is demoted to AGENT
            await mutate(one, UPDATE_USER, {"userId": bob.id, "input": {"role": "AGENT"}}, team.admin.token)
            # then: his next operation on instance 2 runs as an agent
            created = await run(bobs, "create", operation("CreateUser"), {"input": {
                "email": "new-admin@x.test", "name": "New Admin", "role": "ADMIN", "password": "a-long-password"}})
            assert [e["code"] for e in created["data"]["createUser"]["userErrors"]] == ["FORBIDDEN"]

            # when: through instance 1, the account moves to STARTER
            await mutate(one, operation("SetAccountPlan"), {"plan": "STARTER"}, team.admin.token)
            # then: bob's running notification stream on instance 2 ends with the plan's error
            failed = await bobs.wait_for(for_operation("n"))
            assert [e["extensions"]["code"] for e in failed["payload"]["errors"]] == ["FEATURE_NOT_IN_PLAN"]
            assert await bobs.wait_for(for_operation("n", "complete"))

            # when: through instance 1, carol is deactivated
            await mutate(one, UPDATE_USER, {"userId": carol.id, "input": {"active": False}}, team.admin.token)
            # then: her socket on instance 2 is closed (she had no operation running)
            await carols.subscribe("after", "query { viewer { user { id } } }")
            closed = await carols.closed()
        assert closed.code == FORBIDDEN_CLOSE_CODE
