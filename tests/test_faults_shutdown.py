"""SIGTERM on an instance with subscribed clients, while changes keep arriving through
the other: the instance closes every socket cleanly and exits on its own within its
grace period; the clients reconnect to the other instance with their last cursor and
end up with every event exactly once, in order."""
from __future__ import annotations

import asyncio
import contextlib
import signal

import pytest

from schema.events import event_cursor
from subscriptions.events import CONVERSATION_KINDS
from tests.support.cursors import event_seq
from tests.support.deployment.environment import skip_reason
from tests.support.deployment.instances import deployment
from tests.support.deployment.store import stored_events
from tests.support.deployment.teams import create_team
from tests.support.documents import operation
from tests.support.graphql_ws import GraphQLSocket, Stream
from tests.support.http import data, gql
from tests.support.webhook import inbound, inbound_message, post_inbound

pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")

INBOX_EVENTS = operation("InboxEvents")
ASSIGN = operation("AssignConversation")
CLIENTS = 6
TIMEOUT = 20  # seconds; only turns a hang into a failure
SERVICE_RESTART = 1012  # WebSocket close code: the server is restarting, reconnect


def cursor_seqs(streams: list[Stream]) -> list[int]:
    return [event_seq(item["inboxEvents"]["cursor"]) for stream in streams for item in stream.data
            if item and "cursor" in item["inboxEvents"]]


async def test_sigterm_closes_sockets_and_clients_resume_on_the_other_instance(tmp_path):
    async with deployment(tmp_path, 2) as cluster, cluster[1].http() as http:  # the changes go through instance 2
        one, two = cluster[0], cluster[1]
        team = await create_team(http, cluster.env)
        admin, bob = team.admin.token, team["bob"]
        conversation = (await inbound(http, team.account, "+14155550101"))["conversationId"]
        start_seq = max(e["seq"] for e in await stored_events(cluster.database_url, team.account.id))
        variables = {"filter": {"scope": "ALL"}, "after": event_cursor(start_seq)}

        # given: clients subscribed on instance 1, and changes arriving through instance 2
        sockets = [await GraphQLSocket(one.ws_url, bob.token).connect() for _ in range(CLIENTS)]
        histories = [[await s.subscribe(INBOX_EVENTS, variables)] for s in sockets]
        stop = asyncio.Event()

        async def produce() -> int:
            made = 0
            while not stop.is_set():
                if made % 2:
                    assignee = (bob.id, team["carol"].id, None)[made % 3]
                    result = data(await gql(http, ASSIGN,
                                            {"conversationId": conversation, "assigneeId": assignee}, token=admin))
                    assert result["assignConversation"]["userErrors"] == [], result
                else:
                    response = await post_inbound(http, team.account, inbound_message(f"+1415555{made % 7:04d}"))
                    assert response.status_code == 200, response.text
                made += 1
                await asyncio.sleep(0.03)
            return made

        producer = asyncio.create_task(produce())
        try:
            for history in histories:
                await history[0].wait_count(lambda item: "cursor" in item["inboxEvents"], 3, TIMEOUT)

            # when: instance 1 is told to stop
            exit_code = await one.terminate(timeout=TIMEOUT)

            # then: it shut down by itself (uvicorn re-raises SIGTERM once done; SIGKILL would
            # mean it outlived the grace period), and every socket was closed cleanly
            assert exit_code in (0, -signal.SIGTERM), one.log_tail()
            assert "Finished server process" in one.log_text()
            for socket in sockets:
                await asyncio.wait_for(socket.closed.wait(), TIMEOUT)
                assert socket.close_code == SERVICE_RESTART

            # when: each client reconnects to instance 2 from its last cursor
            for index in range(len(sockets)):
                seen = cursor_seqs(histories[index])
                resumed = GraphQLSocket(two.ws_url, bob.token)
                sockets[index] = await resumed.connect()
                after = event_cursor(seen[-1] if seen else start_seq)
                histories[index].append(await resumed.subscribe(INBOX_EVENTS, {**variables, "after": after}))
            await histories[0][-1].wait_count(lambda item: "cursor" in item["inboxEvents"], 3, TIMEOUT)
        finally:
            stop.set()
            made = await producer

        # then: every client has every stored event after its first cursor, once, in order
        expected = [e["seq"] for e in await stored_events(cluster.database_url, team.account.id)
                    if e["kind"] in CONVERSATION_KINDS and e["seq"] > start_seq]
        assert made >= 6 and len(expected) >= made
        for history in histories:
            await history[-1].wait_count(lambda item: "cursor" in item["inboxEvents"],
                                         len(expected) - len(cursor_seqs(history[:-1])), TIMEOUT)
            assert cursor_seqs(history) == expected
        for socket in sockets:
            with contextlib.suppress(Exception):
                await socket.close()
