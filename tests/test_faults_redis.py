"""Redis dies and comes back while clients are subscribed to two instances.

The instances' private redis-server is SIGKILLed (the shared one is never touched) and
started again on the same port. Meanwhile mutations and webhooks still commit to
PostgreSQL (publishing fails and is logged), /readyz reports the outage, and once the
bus has reconnected every subscriber receives every stored event it missed, exactly
once, from the same server processes."""
from __future__ import annotations

import httpx
import pytest

from schema.events import event_cursor
from subscriptions.events import CONVERSATION_KINDS
from tests.support.cursors import event_seq
from tests.support.deployment.environment import skip_reason
from tests.support.deployment.instances import deployment
from tests.support.deployment.store import stored_events
from tests.support.deployment.teams import create_team
from tests.support.documents import operation
from tests.support.graphql_ws import Stream, ws_client
from tests.support.http import data, gql
from tests.support.webhook import inbound_message, post_inbound

pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")

INBOX_EVENTS = operation("InboxEvents")
ASSIGN = operation("AssignConversation")
SEND_MESSAGE = operation("SendMessage")
THREAD = operation("ConversationThread")
TIMEOUT = 20  # seconds; only turns a hang into a failure (reconnect backoff is capped at 2 s)


def cursor_seqs(stream: Stream) -> list[int]:
    return [event_seq(item["inboxEvents"]["cursor"]) for item in stream.data
            if item is not None and "cursor" in item["inboxEvents"]]


async def test_redis_restart_loses_no_event_and_readiness_follows_it(tmp_path):
    async with deployment(tmp_path, 2) as cluster, cluster[0].http() as one, cluster[1].http() as two:
        pids = [instance.process.pid for instance in cluster.instances]
        team = await create_team(one, cluster.env)
        admin, bob = team.admin.token, team["bob"]
        after = event_cursor(max([e["seq"] for e in await stored_events(cluster.database_url, team.account.id)],
                                 default=0))

        async def log_seqs() -> list[int]:
            return [e["seq"] for e in await stored_events(cluster.database_url, team.account.id)
                    if e["kind"] in CONVERSATION_KINDS]

        async def webhook(http: httpx.AsyncClient, phone: str) -> str:
            response = await post_inbound(http, team.account, inbound_message(phone))
            assert response.status_code == 200, response.text
            return response.json()["conversationId"]

        async def assign(http: httpx.AsyncClient, conversation: str, assignee: str | None) -> None:
            result = data(await gql(http, ASSIGN,
                                    {"conversationId": conversation, "assigneeId": assignee}, token=admin))
            assert result["assignConversation"]["userErrors"] == [], result

        async def everyone_has_the_log(streams) -> None:
            expected = await log_seqs()
            for stream in streams:
                await stream.wait_count(lambda item: "cursor" in item["inboxEvents"], len(expected), TIMEOUT)
                assert cursor_seqs(stream) == expected  # complete, in order, no duplicate

        async with ws_client(cluster[0].ws_url, bob.token) as socket_one, \
                ws_client(cluster[1].ws_url, bob.token) as socket_two:
            streams = [await socket.subscribe(INBOX_EVENTS, {"filter": {"scope": "ALL"}, "after": after})
                       for socket in (socket_one, socket_two)]
            # given: live events flow through Redis
            conversation = await webhook(one, "+14155550101")
            await assign(two, conversation, bob.id)
            await everyone_has_the_log(streams)

            # when: Redis dies
            cluster.redis.kill()

            # then: both instances say they are not ready (the database still is), and stay alive
            for instance, http in zip(cluster.instances, (one, two), strict=True):
                body = await instance.wait_readyz(503, TIMEOUT)
                assert body == {"status": "unavailable", "database": True, "bus": False}
                assert (await http.get("/healthz")).status_code == 200

            # when: changes keep coming during the outage, through both instances
            during = await webhook(two, "+14155550102")
            await assign(one, during, bob.id)
            await webhook(one, "+14155550101")
            await assign(two, conversation, None)
            # and: a member replies (which also ends their typing, kept in Redis)
            sent = data(await gql(one, SEND_MESSAGE, {"conversationId": conversation, "body": "On it"},
                                  token=bob.token))["sendMessage"]
            assert sent["userErrors"] == [] and sent["message"]["body"] == "On it", sent
            assert len(await log_seqs()) == 7  # every change committed to PostgreSQL, once
            # and: the conversation still reads (its typing snapshot is just empty)
            thread = data(await gql(two, THREAD, {"id": conversation}, token=bob.token))["conversation"]
            assert thread["typingUsers"] == [] and thread["timeline"]["edges"]

            # and: Redis comes back on the same port
            cluster.redis.start()

            # then: the same processes are ready again and every subscriber gets what it missed
            for instance in cluster.instances:
                await instance.wait_readyz(200, TIMEOUT)
            await everyone_has_the_log(streams)

            # and: live delivery goes on, still exactly once
            await assign(one, during, None)
            await everyone_has_the_log(streams)
            assert not socket_one.closed.is_set() and not socket_two.closed.is_set()

        assert [instance.process.pid for instance in cluster.instances] == pids
        assert all(instance.running for instance in cluster.instances)
        # and: the failed publishes were logged, not hidden
        assert all("could not publish" in instance.log_text() for instance in cluster.instances)
