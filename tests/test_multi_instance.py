"""Two real `teaminbox serve` instances sharing PostgreSQL and Redis, as operators run them:
a client on one instance hears everything done through the other, exactly as a client
of the instance that did it, and typing state is shared and expires without its instance.
"""
from __future__ import annotations

import pytest

from schema.events import event_cursor
from subscriptions.events import CONVERSATION_KINDS
from tests.support.cursors import event_seq
from tests.support.deployment.environment import skip_reason
from tests.support.deployment.instances import deployment
from tests.support.deployment.store import stored_events
from tests.support.deployment.teams import create_team
from tests.support.documents import operation
from tests.support.graphql_ws import ws_client
from tests.support.http import data, gql
from tests.support.webhook import inbound_message, post_inbound

pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")

INBOX_EVENTS = operation("InboxEvents")
ASSIGN = operation("AssignConversation")
SET_STATUS = operation("SetConversationStatus")
SET_TYPING = operation("SetTyping")
TYPING_USERS = "query($id: ID!) { conversation(id: $id) { typingUsers { id } } }"
TIMEOUT = 15  # seconds; only turns a hang into a failure


def typename(item: dict | None) -> str:
    assert item is not None, "a payload without data"
    return item["inboxEvents"]["__typename"]


def seqs(items: list[dict | None]) -> list[int]:
    return [event_seq(item["inboxEvents"]["cursor"]) for item in items
            if item is not None and "cursor" in item["inboxEvents"]]


async def test_operators_run_instances_with_health_and_readiness(tmp_path):
    # given: the operator's recipe, `teaminbox migrate` then two `teaminbox serve` (in deployment())
    async with deployment(tmp_path, 2) as cluster, cluster[0].http() as first, cluster[1].http() as second:
        for instance, http in zip(cluster.instances, (first, second), strict=True):
            # then: liveness and readiness (database reachable, bus connected)
            health = await http.get("/healthz")
            assert (health.status_code, health.json()) == (200, {"status": "ok"})
            assert await instance.readyz() == (200, {"status": "ready", "database": True, "bus": True})
        # and: both serve the same data
        team = await create_team(first, cluster.env)
        viewer = "query { viewer { user { id } } }"
        for http in (first, second):
            assert data(await gql(http, viewer, token=team["bob"].token))["viewer"]["user"]["id"] == team["bob"].id


async def test_subscriber_on_one_instance_hears_the_other_like_its_own_clients(tmp_path):
    async with deployment(tmp_path, 2, typing_ttl_seconds=3) as cluster, cluster[0].http() as http_one, \
            cluster[1].http() as http_two:
        one, two = cluster[0], cluster[1]
        team = await create_team(http_two, cluster.env)
        admin, bob, carol = team.admin.token, team["bob"], team["carol"]
        stored = await stored_events(cluster.database_url, team.account.id)
        after = event_cursor(max([e["seq"] for e in stored], default=0))

        async with ws_client(one.ws_url, bob.token) as remote, ws_client(two.ws_url, bob.token) as local:
            # given: bob watches the open inbox on both instances; everything is done via instance 2
            variables = {"filter": {"scope": "ALL"}, "after": after}
            heard_remotely = await remote.subscribe(INBOX_EVENTS, variables)
            heard_locally = await local.subscribe(INBOX_EVENTS, variables)
            expected = 0

            async def step(items: int, action) -> dict:
                # Lockstep: each change is heard on both before the next, so the
                # "conversation as it is now" in each payload is the same moment.
                nonlocal expected
                result = await action()
                expected += items
                for stream in (heard_remotely, heard_locally):
                    await stream.wait_count(lambda item: True, expected, TIMEOUT)
                return result

            async def webhook(external_id: str):
                message = inbound_message("+14155550123", external_id=external_id)
                response = await post_inbound(http_two, team.account, message)
                assert response.status_code == 200, response.text
                return response.json()

            async def mutate(document: str, variables: dict):
                result = data(await gql(http_two, document, variables, token=admin))
                (payload,) = result.values()
                assert payload["userErrors"] == [], payload
                return payload

            # when: webhooks and mutations through instance 2
            conversation = (await step(2, lambda: webhook("m-1")))["conversationId"]  # MessageAdded + counts
            await step(2, lambda: mutate(ASSIGN, {"conversationId": conversation, "assigneeId": bob.id}))
            await step(2, lambda: mutate(ASSIGN, {"conversationId": conversation, "assigneeId": carol.id,
                                                   "note": "escalated", "expectedAssigneeId": bob.id}))
            await step(1, lambda: webhook("m-2"))  # MessageAdded, counts unchanged
            await step(2, lambda: mutate(SET_STATUS, {"conversationId": conversation, "status": "CLOSED"}))
            await step(3, lambda: webhook("m-3"))  # reopened (+ counts), then the message
            await step(2, lambda: mutate(ASSIGN, {"conversationId": conversation, "assigneeId": None}))

            # then: the same items, payloads, order and cursors on both instances
            assert heard_remotely.data == heard_locally.data
            kinds = [typename(item) for item in heard_remotely.data]
            assert kinds.count("MessageAdded") == 3 and kinds.count("ConversationAssigned") == 3, kinds
            assert "ConversationStatusChanged" in kinds and "InboxCountsChanged" in kinds, kinds
            # and: the cursors are exactly the stored conversation events, in seq order
            log = [e["seq"] for e in await stored_events(cluster.database_url, team.account.id)
                   if e["kind"] in CONVERSATION_KINDS]
            assert seqs(heard_remotely.data) == log

            # when: carol types through instance 1
            typing = {"conversationId": conversation, "isTyping": True}
            accepted = data(await gql(http_one, SET_TYPING, typing, token=carol.token))["setTyping"]
            assert accepted["userErrors"] == [], accepted

            # then: both instances' subscribers see it, and instance 2's snapshot has it
            def carol_typing(is_typing: bool):
                return lambda item: (typename(item) == "TypingChanged"
                                     and item["inboxEvents"]["user"]["id"] == carol.id
                                     and item["inboxEvents"]["isTyping"] is is_typing)

            for stream in (heard_remotely, heard_locally):
                await stream.wait_for(carol_typing(True), TIMEOUT)
            snapshot = data(await gql(http_two, TYPING_USERS, {"id": conversation}, token=bob.token))
            assert snapshot["conversation"]["typingUsers"] == [{"id": carol.id}]

            # when: carol refreshes through instance 1, which then dies without a goodbye
            data(await gql(http_one, SET_TYPING, typing, token=carol.token))
            one.kill()
            assert not [item for item in heard_locally.data if carol_typing(False)(item)]

            # then: the entry still expires, announced by instance 2 to its subscribers
            await heard_locally.wait_for(carol_typing(False), TIMEOUT)
            snapshot = data(await gql(http_two, TYPING_USERS, {"id": conversation}, token=bob.token))
            assert snapshot["conversation"]["typingUsers"] == []
