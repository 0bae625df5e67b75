"""Fan-out cost: an event costs a fixed number of SQL statements in a process, however
many subscribers watch it (one log read per doorbell, rows and counts shared)."""
from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from schema.event_cache import shared
from schema.events import MessageAdded, render
from subscriptions.events import MESSAGE_CREATED, BusEvent
from tests.support.documents import operation
from tests.support.http import data, gql
from tests.support.live import EventCollector, running_server, start_cursor, ws_session
from tests.support.statements import counting_statements
from tests.support.teams import make_team
from tests.support.webhook import inbound

INBOX_EVENTS = operation("InboxEvents")
ASSIGN = operation("AssignConversation")
SOCKETS = 5  # subscribers are spread over this many connections (max 20 per connection)


async def statements_for_one_message_and_one_assignment(settings, subscribers: int) -> tuple[int, int]:
    """SQL statements run from an inbound message (then an assignment) until every one of
    `subscribers` ALL-inbox subscriptions has received it."""
    async with running_server(settings) as server, server.http() as http:
        team = await make_team(http)
        members = [team.admin, team["bob"], team["carol"]]
        conversation = (await inbound(http, team.account, "+14155550901", "Existing"))["conversationId"]
        after = await start_cursor()
        async with AsyncExitStack() as stack:
            collectors: list[EventCollector] = []
            for index in range(SOCKETS):
                session = await stack.enter_async_context(ws_session(server, members[index % len(members)].token))
                per_socket = subscribers // SOCKETS
                collectors += [EventCollector(session, INBOX_EVENTS, {"after": after}) for _ in range(per_socket)]
            for collector in collectors:
                stack.push_async_callback(collector.stop)

            # every subscription is done starting before measuring: a first warm-up proves
            # it registered (it may still be replaying), a second one that its replay is over
            for body in ("Warm-up", "Warm-up again"):
                warm_up = (await inbound(http, team.account, "+14155550901", body))["messageId"]
                for collector in collectors:
                    await collector.wait_for(message_with(warm_up), timeout=20)

            with counting_statements() as on_message:
                message = (await inbound(http, team.account, "+14155550901", "Counted"))["messageId"]
                for collector in collectors:
                    await collector.wait_for(message_with(message), timeout=20)
            with counting_statements() as on_assignment:
                data(await gql(http, ASSIGN, {"conversationId": conversation, "assigneeId": team["bob"].id},
                               token=team.admin.token))
                for collector in collectors:
                    await collector.wait_for(counts_after_assignment(collector), timeout=20)
        return len(on_message), len(on_assignment)


def message_with(message_id: str):
    return lambda item: (item["inboxEvents"].get("message") or {}).get("id") == message_id


def counts_after_assignment(collector: EventCollector):
    def seen(_item) -> bool:
        kinds = [item["inboxEvents"]["__typename"] for item in collector.items]
        return "ConversationAssigned" in kinds and "InboxCountsChanged" in kinds[kinds.index("ConversationAssigned"):]
    return seen


async def test_an_event_costs_the_same_statements_for_5_or_50_subscribers(settings):
    # given / when
    few = await statements_for_one_message_and_one_assignment(settings, 5)
    many = await statements_for_one_message_and_one_assignment(settings, 50)

    # then
    print(f"\nSQL statements (inbound message, assignment): 5 subscribers {few}, 50 subscribers {many}")
    assert many == few


async def test_a_subscriber_leaving_mid_render_does_not_break_the_others(client):
    # given: two subscribers rendering the same event with its shared rows
    team = await make_team(client)
    delivered = await inbound(client, team.account, "+14155550902", "Shared")
    event = BusEvent(
        kind=MESSAGE_CREATED, account_id=team.account.id, seq=1, conversation_id=int(delivered["conversationId"]),
        payload={"message_id": int(delivered["messageId"])},
    )
    leaving = asyncio.create_task(render(shared(event)))
    staying = asyncio.create_task(render(shared(event)))
    await asyncio.sleep(0)  # both now wait for the same row

    # when: one of them goes away (its client closed the tab)
    leaving.cancel()

    # then
    rendered = await asyncio.wait_for(staying, 5)
    assert isinstance(rendered, MessageAdded)
    assert rendered.message.body == "Shared"
    assert leaving.cancelled()
