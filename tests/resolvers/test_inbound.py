"""resolvers.inbound.receive_inbound: a customer's message lands in their one conversation
(made on the first message, reopened when closed), idempotently on the provider's id, and
tells the assignee on plans with the team inbox."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models import (
    Account,
    Contact,
    Conversation,
    ConversationStatus,
    Event,
    Message,
    MessageDirection,
    Notification,
    NotificationKind,
    Plan,
    StatusEvent,
)
from resolvers.accounts import set_plan
from resolvers.assignment import assign_conversation
from resolvers.conversations import set_conversation_status
from resolvers.inbound import InboundMessage, receive_inbound
from resolvers.inbox import inbox_counts
from subscriptions.events import CONVERSATION_STATUS_CHANGED, MESSAGE_CREATED, NOTIFICATION_CREATED
from tests.resolvers.conftest import BUSINESS_NUMBER, Factory, Team, events, notifications_of, stored


def delivery(phone: str, external_id: str, body: str = "Hello", received_at: datetime | None = None) -> InboundMessage:
    return InboundMessage(external_id=external_id, from_phone=phone, to_phone=BUSINESS_NUMBER, body=body,
                          received_at=received_at)


async def everything_stored() -> tuple[int, int, int]:
    """How many messages, events and notifications there are (in every account)."""
    return await Message.all().count(), await Event.all().count(), await Notification.all().count()


async def test_a_first_message_makes_the_contact_and_an_open_unassigned_conversation(factory: Factory, team: Team):
    # given
    phone = factory.phone()

    # when
    message, created = await receive_inbound(team.account, delivery(phone, "prov-1", "Is anyone there?"))

    # then
    assert created
    [contact] = await Contact.filter(account_id=team.account.id)
    conversation = await stored(message.conversation_id)
    assert contact.phone == phone
    assert (conversation.contact_id, conversation.status, conversation.assignee_id) == (
        contact.id, ConversationStatus.OPEN, None)
    assert conversation.last_message_id == message.id
    assert conversation.last_activity_at == message.created_at
    row = await Message.get(id=message.id)
    assert (row.direction, row.body, row.external_id, row.author_id) == (
        MessageDirection.INBOUND, "Is anyone there?", "prov-1", None)
    [event] = await events(team.account, MESSAGE_CREATED)
    assert (event.conversation_id, event.payload["message_id"], event.payload["new_conversation"]) == (
        conversation.id, message.id, True)
    counts = await inbox_counts(team["bob"], ConversationStatus.OPEN)
    assert (counts.all, counts.unassigned) == (1, 1)


async def test_a_second_message_from_the_same_number_joins_the_same_conversation(factory: Factory, team: Team):
    # given
    phone = factory.phone()
    first, _ = await receive_inbound(team.account, delivery(phone, "prov-1"))

    # when
    second, created = await receive_inbound(team.account, delivery(phone, "prov-2", "Me again"))

    # then
    assert created
    assert second.conversation_id == first.conversation_id
    assert await Contact.filter(account_id=team.account.id).count() == 1
    assert await Conversation.filter(account_id=team.account.id).count() == 1
    assert [m.id for m in await Message.filter(conversation_id=first.conversation_id).order_by("id")] == [
        first.id, second.id]
    assert (await stored(first.conversation_id)).last_message_id == second.id
    assert [e.payload["new_conversation"] for e in await events(team.account, MESSAGE_CREATED)] == [True, False]
    assert (await inbox_counts(team["bob"], ConversationStatus.OPEN)).all == 1


async def test_the_same_number_writing_to_two_accounts_makes_a_conversation_in_each(factory: Factory, team: Team):
    # given
    other = await factory.team()
    phone = factory.phone()

    # when
    mine, _ = await receive_inbound(team.account, delivery(phone, "prov-1"))
    theirs, created = await receive_inbound(other.account, delivery(phone, "prov-1"))

    # then: the provider id is unique per account, not across accounts
    assert created
    assert mine.conversation_id != theirs.conversation_id
    assert (await stored(theirs.conversation_id)).account_id == other.account.id
    assert await Message.filter(external_id="prov-1").count() == 2


async def test_a_message_into_a_closed_conversation_reopens_it_with_no_actor_and_keeps_its_owner(
    factory: Factory, team: Team
):
    # given: carol closed the conversation she holds
    phone = factory.phone()
    first = await factory.customer_writes(team.account, phone)
    await assign_conversation(team["bob"], str(first.conversation_id), team.id("carol"))
    await set_conversation_status(team["carol"], str(first.conversation_id), ConversationStatus.CLOSED)

    # when
    await receive_inbound(team.account, delivery(phone, "prov-again", "One more thing"))

    # then
    conversation = await stored(first.conversation_id)
    assert (conversation.status, conversation.assignee_id) == (ConversationStatus.OPEN, team["carol"].user_id)
    closed, reopened = await StatusEvent.filter(conversation_id=conversation.id).order_by("id")
    assert (closed.status, closed.actor_id) == (ConversationStatus.CLOSED, team["carol"].user_id)
    assert (reopened.status, reopened.actor_id) == (ConversationStatus.OPEN, None)
    event = (await events(team.account, CONVERSATION_STATUS_CHANGED))[-1]
    assert (event.payload["status"], event.payload["previous_status"], event.payload["actor_id"]) == (
        "OPEN", "CLOSED", None)
    assert (await inbox_counts(team["carol"], ConversationStatus.OPEN)).mine == 1
    assert (await inbox_counts(team["carol"], ConversationStatus.CLOSED)).all == 0


async def test_a_message_into_an_open_conversation_writes_no_status_change(factory: Factory, team: Team):
    # given
    phone = factory.phone()
    await factory.customer_writes(team.account, phone)

    # when
    await factory.customer_writes(team.account, phone, "Hello again")

    # then
    assert await StatusEvent.all().count() == 0
    assert await events(team.account, CONVERSATION_STATUS_CHANGED) == []


async def test_a_retried_delivery_returns_the_stored_message_and_stores_nothing_more(factory: Factory, team: Team):
    # given: carol holds the conversation, so the first delivery notified her
    phone = factory.phone()
    first = await factory.customer_writes(team.account, phone)
    await assign_conversation(team["bob"], str(first.conversation_id), team.id("carol"))
    original, _ = await receive_inbound(team.account, delivery(phone, "prov-retried", "Where is my order?"))
    stored_before = await everything_stored()

    # when: the provider retries the same id (even with a different body)
    again, created = await receive_inbound(team.account, delivery(phone, "prov-retried", "Where is my order??"))

    # then
    assert not created
    assert (again.id, again.body) == (original.id, "Where is my order?")
    assert await Message.filter(account_id=team.account.id, external_id="prov-retried").count() == 1
    assert await everything_stored() == stored_before


async def test_a_late_delivery_of_an_older_message_does_not_move_the_conversation_back(
    factory: Factory, team: Team
):
    # given
    phone = factory.phone()
    now = datetime.now(UTC)
    newer, _ = await receive_inbound(team.account, delivery(phone, "prov-new", "second", now))

    # when
    older, _ = await receive_inbound(team.account, delivery(phone, "prov-old", "first", now - timedelta(minutes=5)))

    # then
    conversation = await stored(newer.conversation_id)
    assert older.conversation_id == conversation.id
    assert (conversation.last_message_id, conversation.last_activity_at) == (newer.id, newer.created_at)


async def test_the_assignee_is_told_of_a_new_message_on_the_team_plan(factory: Factory, team: Team):
    # given
    phone = factory.phone()
    first = await factory.customer_writes(team.account, phone)
    await assign_conversation(team["bob"], str(first.conversation_id), team.id("carol"))
    assigned = await notifications_of(team["carol"])

    # when
    message = await factory.customer_writes(team.account, phone, "Any news?")

    # then
    [notification] = [n for n in await notifications_of(team["carol"]) if n not in assigned]
    assert (notification.kind, notification.conversation_id, notification.message_id, notification.read_at) == (
        NotificationKind.NEW_MESSAGE, first.conversation_id, message.id, None)
    assert (await events(team.account, NOTIFICATION_CREATED))[-1].user_id == team["carol"].user_id
    assert await notifications_of(team["bob"]) == []


async def test_nobody_is_told_of_a_message_in_an_unassigned_conversation(factory: Factory, team: Team):
    # given
    phone = factory.phone()
    await factory.customer_writes(team.account, phone)

    # when
    await factory.customer_writes(team.account, phone, "Hello?")

    # then
    assert await Notification.all().count() == 0
    assert await events(team.account, NOTIFICATION_CREATED) == []


async def test_the_assignee_is_not_told_on_the_starter_plan(factory: Factory, team: Team):
    # given: carol held the conversation when the account moved down to STARTER
    phone = factory.phone()
    first = await factory.customer_writes(team.account, phone)
    await assign_conversation(team["bob"], str(first.conversation_id), team.id("carol"))
    await set_plan(team.admin, Plan.STARTER)
    account = await Account.get(id=team.account.id)
    notified = await Notification.all().count()

    # when
    message = await factory.customer_writes(account, phone, "Any news?")

    # then: the message is stored, nobody notified
    assert (await stored(first.conversation_id)).last_message_id == message.id
    assert await Notification.all().count() == notified
    assert [e for e in await events(team.account, NOTIFICATION_CREATED) if e.payload["kind"] == "NEW_MESSAGE"] == []
