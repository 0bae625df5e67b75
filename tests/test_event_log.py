"""The durable event log: every change writes its Event rows in the same transaction,
in increasing seq order, with the facts subscribers need; a failure writes none."""
import asyncio

from models import AssignmentEvent, Event, Message, Notification, NotificationKind, Role
from subscriptions.events import (
    CONVERSATION_ASSIGNED,
    CONVERSATION_STATUS_CHANGED,
    MESSAGE_CREATED,
    NOTIFICATION_CREATED,
)
from tests.support.documents import operation
from tests.support.http import data, gql
from tests.support.teams import make_team
from tests.support.webhook import inbound, post_inbound

ASSIGN = operation("AssignConversation")
SET_STATUS = operation("SetConversationStatus")
SEND = operation("SendMessage")


async def last_seq() -> int:
    row = await Event.all().order_by("-seq").first()
    return row.seq if row else 0


async def events_after(seq: int, account_id: int) -> list[Event]:
    return await Event.filter(account_id=account_id, seq__gt=seq).order_by("seq")


async def assign(client, token, conversation_id, assignee_id, **extra) -> dict:
    variables = {"conversationId": conversation_id, "assigneeId": assignee_id, **extra}
    return data(await gql(client, ASSIGN, variables, token=token))["assignConversation"]


async def test_assignment_by_someone_else_logs_assigned_and_a_notification_for_the_assignee(client):
    # given
    team = await make_team(client)
    bob = team["bob"]
    conversation_id = int((await inbound(client, team.account, "+14155550123"))["conversationId"])
    mark = await last_seq()

    # when
    result = await assign(client, team.admin.token, str(conversation_id), bob.id)

    # then
    assert result["userErrors"] == []
    events = await events_after(mark, team.account.id)
    assert [e.kind for e in events] == [CONVERSATION_ASSIGNED, NOTIFICATION_CREATED]
    assigned, notified = events
    history = await AssignmentEvent.get(conversation_id=conversation_id)
    notification = await Notification.get(user_id=bob.user.id)
    assert assigned.conversation_id == conversation_id
    assert assigned.payload["conversation_id"] == conversation_id
    assert assigned.payload["assignee_id"] == bob.user.id
    assert assigned.payload["previous_assignee_id"] is None
    assert assigned.payload["actor_id"] == team.admin.user.id
    assert assigned.payload["status"] == "OPEN"
    assert assigned.payload["version"] == result["conversation"]["version"]
    assert assigned.payload["assignment_event_id"] == history.id
    assert notified.user_id == bob.user.id
    assert notified.payload == {"notification_id": notification.id, "kind": "ASSIGNED",
                                "conversation_id": conversation_id}
    assert mark < assigned.seq < notified.seq


async def test_self_assignment_logs_no_notification(client):
    # given
    team = await make_team(client)
    bob = team["bob"]
    conversation_id = (await inbound(client, team.account, "+14155550123"))["conversationId"]
    mark = await last_seq()

    # when
    await assign(client, bob.token, conversation_id, bob.id)

    # then
    events = await events_after(mark, team.account.id)
    assert [(e.kind, e.payload["assignee_id"]) for e in events] == [(CONVERSATION_ASSIGNED, bob.user.id)]


async def test_unassign_logs_assigned_with_no_assignee_and_no_notification(client):
    # given
    team = await make_team(client)
    bob = team["bob"]
    conversation_id = (await inbound(client, team.account, "+14155550123"))["conversationId"]
    await assign(client, team.admin.token, conversation_id, bob.id)
    mark = await last_seq()

    # when
    await assign(client, team.admin.token, conversation_id, None)

    # then
    events = await events_after(mark, team.account.id)
    assert [e.kind for e in events] == [CONVERSATION_ASSIGNED]
    assert events[0].payload["assignee_id"] is None
    assert events[0].payload["previous_assignee_id"] == bob.user.id


async def test_inbound_message_logs_message_created_and_notifies_the_assignee(client):
    # given
    team = await make_team(client)
    bob = team["bob"]
    conversation_id = int((await inbound(client, team.account, "+14155550123", "first"))["conversationId"])
    await assign(client, team.admin.token, str(conversation_id), bob.id)
    mark = await last_seq()

    # when
    delivered = await inbound(client, team.account, "+14155550123", "second")

    # then
    events = await events_after(mark, team.account.id)
    assert [e.kind for e in events] == [MESSAGE_CREATED, NOTIFICATION_CREATED]
    created, notified = events
    message_id = int(delivered["messageId"])
    assert created.conversation_id == conversation_id
    assert created.payload["message_id"] == message_id
    assert created.payload["direction"] == "INBOUND"
    assert created.payload["author_id"] is None
    assert created.payload["assignee_id"] == bob.user.id
    assert created.payload["status"] == "OPEN"
    assert notified.user_id == bob.user.id
    assert notified.payload["kind"] == "NEW_MESSAGE"
    assert notified.payload["conversation_id"] == conversation_id
    notification = await Notification.get(id=notified.payload["notification_id"])
    assert (notification.user_id, notification.kind, notification.message_id) == (
        bob.user.id, NotificationKind.NEW_MESSAGE, message_id)


async def test_inbound_message_in_an_unassigned_conversation_notifies_nobody(client):
    # given
    team = await make_team(client)
    mark = await last_seq()

    # when
    delivered = await inbound(client, team.account, "+14155550123")

    # then
    events = await events_after(mark, team.account.id)
    assert [(e.kind, e.payload["assignee_id"]) for e in events] == [(MESSAGE_CREATED, None)]
    assert events[0].payload["message_id"] == int(delivered["messageId"])
    assert await Notification.all().count() == 0


async def test_close_logs_status_changed(client):
    # given
    team = await make_team(client)
    bob = team["bob"]
    conversation_id = (await inbound(client, team.account, "+14155550123"))["conversationId"]
    await assign(client, team.admin.token, conversation_id, bob.id)
    mark = await last_seq()

    # when
    closed = data(await gql(client, SET_STATUS, {"conversationId": conversation_id, "status": "CLOSED"},
                            token=bob.token))["setConversationStatus"]
    again = data(await gql(client, SET_STATUS, {"conversationId": conversation_id, "status": "CLOSED"},
                           token=bob.token))["setConversationStatus"]

    # then: one event for the change, none for closing what is already closed
    assert closed["userErrors"] == [] and again["userErrors"] == []
    events = await events_after(mark, team.account.id)
    assert [e.kind for e in events] == [CONVERSATION_STATUS_CHANGED]
    payload = events[0].payload
    assert events[0].conversation_id == int(conversation_id)
    assert (payload["conversation_id"], payload["status"], payload["previous_status"]) == (
        int(conversation_id), "CLOSED", "OPEN")
    assert payload["assignee_id"] == bob.user.id
    assert payload["actor_id"] == bob.user.id
    assert payload["version"] == closed["conversation"]["version"]


async def test_inbound_into_a_closed_conversation_logs_the_reopening_and_the_message(client):
    # given
    team = await make_team(client)
    bob = team["bob"]
    conversation_id = (await inbound(client, team.account, "+14155550123"))["conversationId"]
    await assign(client, team.admin.token, conversation_id, bob.id)
    await gql(client, SET_STATUS, {"conversationId": conversation_id, "status": "CLOSED"}, token=bob.token)
    mark = await last_seq()

    # when
    await inbound(client, team.account, "+14155550123", "it broke again")

    # then
    events = await events_after(mark, team.account.id)
    assert [e.kind for e in events] == [CONVERSATION_STATUS_CHANGED, MESSAGE_CREATED, NOTIFICATION_CREATED]
    reopened, created, _ = events
    assert (reopened.payload["status"], reopened.payload["previous_status"], reopened.payload["actor_id"]) == (
        "OPEN", "CLOSED", None)
    assert created.payload["status"] == "OPEN"
    assert created.payload["version"] == reopened.payload["version"]


async def test_sent_message_logs_message_created_attributed_to_the_sender(client):
    # given
    team = await make_team(client)
    bob = team["bob"]
    conversation_id = (await inbound(client, team.account, "+14155550123"))["conversationId"]
    await assign(client, team.admin.token, conversation_id, bob.id)
    mark = await last_seq()

    # when
    sent = data(await gql(client, SEND, {"conversationId": conversation_id, "body": "On my way"},
                          token=bob.token))["sendMessage"]

    # then
    events = await events_after(mark, team.account.id)
    assert [e.kind for e in events] == [MESSAGE_CREATED]
    assert events[0].payload["message_id"] == int(sent["message"]["id"])
    assert events[0].payload["direction"] == "OUTBOUND"
    assert events[0].payload["author_id"] == bob.user.id


async def test_deactivating_a_member_logs_the_unassignments(client):
    # given
    team = await make_team(client)
    bob = team["bob"]
    conversations = [(await inbound(client, team.account, f"+1415555012{i}"))["conversationId"] for i in range(2)]
    for conversation_id in conversations:
        await assign(client, team.admin.token, conversation_id, bob.id)
    mark = await last_seq()

    # when
    data(await gql(client, operation("UpdateUser"), {"userId": bob.id, "input": {"active": False}},
                   token=team.admin.token))

    # then
    events = await events_after(mark, team.account.id)
    assert sorted((e.kind, e.conversation_id, e.payload["assignee_id"], e.payload["previous_assignee_id"])
                  for e in events) == sorted(
        (CONVERSATION_ASSIGNED, int(c), None, bob.user.id) for c in conversations)


async def test_failed_mutations_and_refused_deliveries_log_nothing(client):
    # given
    team = await make_team(client, roles={"bob": Role.AGENT, "carol": Role.AGENT, "ann": Role.ANALYST})
    other = await make_team(client)
    bob, carol = team["bob"], team["carol"]
    conversation_id = (await inbound(client, team.account, "+14155550123"))["conversationId"]
    await assign(client, team.admin.token, conversation_id, bob.id)
    mark = await last_seq()

    # when
    failures = [
        await assign(client, team.admin.token, conversation_id, carol.id, expectedAssigneeId=carol.id),
        await assign(client, team.admin.token, conversation_id, carol.id, note="x" * 1001),
        await assign(client, team.admin.token, conversation_id, other["bob"].id),
        await assign(client, team["ann"].token, conversation_id, carol.id),
        await assign(client, other.admin.token, conversation_id, other["bob"].id),
        data(await gql(client, SEND, {"conversationId": conversation_id, "body": "  "},
                       token=bob.token))["sendMessage"],
        data(await gql(client, SET_STATUS, {"conversationId": conversation_id, "status": "CLOSED"},
                       token=team["ann"].token))["setConversationStatus"],
    ]
    refused = [
        await post_inbound(client, team.account, {"id": "x", "from": "+14155550123", "to": "+14155550100", "body": ""}),
        await post_inbound(client, team.account,
                           {"id": "y", "from": "+14155550123", "to": "+14155550100", "body": "hi"},
                           secret=other.account.webhook_secret),
    ]

    # then
    assert all(f["userErrors"] for f in failures), failures
    assert [r.status_code for r in refused] == [422, 401]
    assert await last_seq() == mark


async def test_seq_increases_across_changes_and_each_change_has_its_events(client):
    # given
    team = await make_team(client)
    bob, carol = team["bob"], team["carol"]
    mark = await last_seq()

    # when: a sequence of changes, each followed by a look at the log
    seen: list[list[str]] = []
    conversation: dict[str, str] = {}

    async def receive():
        conversation["id"] = (await inbound(client, team.account, "+14155550123", "hi"))["conversationId"]

    steps = [
        receive,
        lambda: assign(client, team.admin.token, conversation["id"], bob.id),
        lambda: assign(client, bob.token, conversation["id"], carol.id),
        lambda: gql(client, SEND, {"conversationId": conversation["id"], "body": "hello"}, token=carol.token),
        lambda: gql(client, SET_STATUS, {"conversationId": conversation["id"], "status": "CLOSED"}, token=carol.token),
    ]
    position = mark
    for step in steps:
        await step()
        events = await events_after(position, team.account.id)
        seen.append([e.kind for e in events])
        position = events[-1].seq

    # then
    assert seen == [
        [MESSAGE_CREATED],
        [CONVERSATION_ASSIGNED, NOTIFICATION_CREATED],
        [CONVERSATION_ASSIGNED, NOTIFICATION_CREATED],
        [MESSAGE_CREATED],
        [CONVERSATION_STATUS_CHANGED],
    ]
    seqs = [e.seq for e in await events_after(mark, team.account.id)]
    assert seqs == sorted(set(seqs))


async def test_racing_changes_log_exactly_the_events_of_what_was_committed(client):
    # given
    team = await make_team(client)
    bob, carol = team["bob"], team["carol"]
    conversation_id = (await inbound(client, team.account, "+14155550123"))["conversationId"]
    mark = await last_seq()

    # when: a claim race (one loses) and five deliveries of the same provider id (four retries)
    claims = await asyncio.gather(
        assign(client, bob.token, conversation_id, bob.id, expectedAssigneeId=None),
        assign(client, carol.token, conversation_id, carol.id, expectedAssigneeId=None),
    )
    deliveries = await asyncio.gather(*(
        post_inbound(client, team.account, {"id": "dup", "from": "+14155550123", "to": "+14155550100", "body": "x"})
        for _ in range(5)
    ))

    # then
    assert sorted(bool(c["userErrors"]) for c in claims) == [False, True]
    assert [r.status_code for r in deliveries] == [200] * 5
    events = await events_after(mark, team.account.id)
    history = await AssignmentEvent.filter(conversation_id=int(conversation_id))
    messages = await Message.filter(conversation_id=int(conversation_id), external_id="dup")
    logged = [e.payload["assignment_event_id"] for e in events if e.kind == CONVERSATION_ASSIGNED]
    assert logged == [h.id for h in history]
    assert [e.payload["message_id"] for e in events if e.kind == MESSAGE_CREATED] == [m.id for m in messages]
    assert len(history) == 1 and len(messages) == 1
