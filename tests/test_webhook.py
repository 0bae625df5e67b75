"""POST /webhooks/inbound/{accountId}: signed customer messages become contacts,
conversations and messages; anything refused stores nothing at all."""
import asyncio

import orjson
import pytest

from models import Contact, Conversation, ConversationStatus, Event, Message, MessageDirection, Role, StatusEvent
from resolvers.messages import MAX_BODY_LENGTH
from server.webhook import sign
from tests.support.documents import operation
from tests.support.http import data, gql
from tests.support.orm import column
from tests.support.teams import make_team
from tests.support.webhook import inbound, post_inbound, post_webhook

THREAD = operation("ConversationThread")


async def make_account(client):
    """An account with its admin and one agent (fewer password hashes than make_team's default)."""
    return await make_team(client, roles={"bob": Role.AGENT})


def payload(external_id="ext-1", phone="+14155550123", body="Hello", **extra) -> dict:
    return {"id": external_id, "from": phone, "to": "+14155550100", "body": body, **extra}


async def stored_counts() -> dict[str, int]:
    return {
        "messages": await Message.all().count(),
        "contacts": await Contact.all().count(),
        "conversations": await Conversation.all().count(),
        "events": await Event.all().count(),
        "status_events": await StatusEvent.all().count(),
    }


async def test_first_message_creates_contact_conversation_and_message(client):
    # given
    team = await make_account(client)

    # when
    response = await post_inbound(client, team.account, payload("ext-1", "+1 (415) 555-0123", "  My sink leaks  "))

    # then
    assert response.status_code == 200
    answer = response.json()
    assert answer["duplicate"] is False
    message = await Message.get(id=int(answer["messageId"]))
    conversation = await Conversation.get(id=int(answer["conversationId"]))
    contact = await Contact.get(id=conversation.contact_id)
    assert contact.phone == "+14155550123"
    assert contact.account_id == team.account.id
    assert conversation.account_id == team.account.id
    assert conversation.status == ConversationStatus.OPEN
    assert conversation.assignee_id is None
    assert message.conversation_id == conversation.id
    assert message.direction == MessageDirection.INBOUND
    assert message.body == "My sink leaks"
    assert message.external_id == "ext-1"
    assert message.author_id is None


@pytest.mark.parametrize("raw, e164", [
    ("+1 (415) 555-0123", "+14155550123"),
    ("+14155550123", "+14155550123"),
    ("0044 20 7946 0958", "+442079460958"),
    ("+44 (0)20 7946 0958", "+442079460958"),
    ("0049 30 123456", "+4930123456"),
])
async def test_phone_numbers_are_stored_in_e164(client, raw, e164):
    # given
    team = await make_account(client)

    # when
    answer = await inbound(client, team.account, raw)

    # then
    conversation = await Conversation.get(id=int(answer["conversationId"]))
    assert (await Contact.get(id=conversation.contact_id)).phone == e164


async def test_second_message_from_the_same_phone_joins_the_same_conversation(client):
    # given: the same number written two ways
    team = await make_account(client)
    first = await inbound(client, team.account, "+1 (415) 555-0123", "first")

    # when
    second = await inbound(client, team.account, "+14155550123", "second")

    # then
    assert second["conversationId"] == first["conversationId"]
    assert second["messageId"] != first["messageId"]
    assert await Contact.filter(account_id=team.account.id).count() == 1
    assert await Conversation.filter(account_id=team.account.id).count() == 1
    bodies = await column(Message.filter(conversation_id=int(first["conversationId"])).order_by("id"), "body")
    assert bodies == ["first", "second"]


async def test_same_phone_in_two_accounts_makes_two_separate_contacts(client):
    # given
    team = await make_account(client)
    other = await make_account(client)

    # when
    mine = await inbound(client, team.account, "+14155550123")
    theirs = await inbound(client, other.account, "+14155550123")

    # then
    assert mine["conversationId"] != theirs["conversationId"]
    assert (await Conversation.get(id=int(mine["conversationId"]))).account_id == team.account.id
    assert (await Conversation.get(id=int(theirs["conversationId"]))).account_id == other.account.id


async def test_message_into_a_closed_conversation_reopens_it(client):
    # given
    team = await make_account(client)
    first = await inbound(client, team.account, "+14155550123", "thanks, bye")
    conversation_id = first["conversationId"]
    closed = data(await gql(client, operation("SetConversationStatus"),
                            {"conversationId": conversation_id, "status": "CLOSED"}, token=team.admin.token))
    assert closed["setConversationStatus"]["conversation"]["status"] == "CLOSED"

    # when
    again = await inbound(client, team.account, "+14155550123", "one more thing")

    # then
    assert again["conversationId"] == conversation_id
    thread = data(await gql(client, THREAD, {"id": conversation_id}, token=team.admin.token))["conversation"]
    assert thread["status"] == "OPEN"
    items = [edge["node"] for edge in thread["timeline"]["edges"]]
    entries = [(i["__typename"], i.get("status") or i.get("body")) for i in items]
    assert entries[:2] == [("Message", "thanks, bye"), ("StatusChange", "CLOSED")]
    assert sorted(entries[2:]) == [("Message", "one more thing"), ("StatusChange", "OPEN")]
    actors = {i.get("status"): i["actor"] for i in items if i["__typename"] == "StatusChange"}
    assert actors["CLOSED"]["id"] == team.admin.id
    assert actors["OPEN"] is None


async def test_retry_with_the_same_id_is_idempotent(client):
    # given
    team = await make_account(client)
    first = await post_inbound(client, team.account, payload("ext-42", body="once"))
    before = await stored_counts()

    # when
    retry = await post_inbound(client, team.account, payload("ext-42", body="once"))

    # then
    assert first.status_code == 200 and retry.status_code == 200
    assert retry.json()["messageId"] == first.json()["messageId"]
    assert retry.json()["conversationId"] == first.json()["conversationId"]
    assert first.json()["duplicate"] is False
    assert retry.json()["duplicate"] is True
    assert await stored_counts() == before
    assert await Message.filter(external_id="ext-42").count() == 1


async def test_the_same_provider_id_in_two_accounts_is_two_messages(client):
    # given
    team = await make_account(client)
    other = await make_account(client)

    # when
    mine = await post_inbound(client, team.account, payload("ext-shared"))
    theirs = await post_inbound(client, other.account, payload("ext-shared"))

    # then
    assert mine.json()["duplicate"] is False and theirs.json()["duplicate"] is False
    assert mine.json()["messageId"] != theirs.json()["messageId"]


async def test_receivedat_sets_the_message_time(client):
    # given
    team = await make_account(client)

    # when
    response = await post_inbound(client, team.account, payload(receivedAt="2025-03-01T12:30:00Z"))

    # then
    assert response.status_code == 200
    message = await Message.get(id=int(response.json()["messageId"]))
    assert message.created_at.isoformat().startswith("2025-03-01T12:30:00")


async def test_receivedat_ahead_of_our_clock_is_not_stored_in_the_future(client):
    # given
    team = await make_account(client)

    # when
    response = await post_inbound(client, team.account, payload(receivedAt="2999-01-01T00:00:00+00:00"))

    # then
    assert response.status_code == 200
    message = await Message.get(id=int(response.json()["messageId"]))
    conversation = await Conversation.get(id=message.conversation_id)
    assert message.created_at.year < 2999
    assert conversation.last_activity_at.year < 2999


async def test_late_delivery_of_an_older_message_does_not_move_the_conversation_back(client):
    # given
    team = await make_account(client)
    newer = await post_inbound(client, team.account, payload("ext-new", receivedAt="2025-03-01T12:00:00Z"))
    conversation_id = int(newer.json()["conversationId"])
    activity = (await Conversation.get(id=conversation_id)).last_activity_at

    # when
    older = await post_inbound(client, team.account, payload("ext-old", receivedAt="2025-03-01T11:00:00+00:00"))

    # then
    assert older.status_code == 200
    assert int(older.json()["conversationId"]) == conversation_id
    assert (await Conversation.get(id=conversation_id)).last_activity_at == activity


def _bad_signatures(secret: str, body: bytes, other_secret: str) -> dict[str, str | None]:
    good = sign(secret, body)
    return {
        "missing": None,
        "empty": "",
        "wrong digest": "sha256=" + "0" * 64,
        "no scheme": good.removeprefix("sha256="),
        "other account's secret": sign(other_secret, body),
        "signature of another body": sign(secret, body + b" "),
        "uppercase hex": "sha256=" + good.removeprefix("sha256=").upper(),
        "non-ascii": "sha256=\u00ff" + good[8:],
    }


async def test_bad_signatures_are_refused_and_nothing_is_stored(client):
    # given
    team = await make_account(client)
    other = await make_account(client)
    body = orjson.dumps(payload())
    before = await stored_counts()

    for name, signature in _bad_signatures(team.account.webhook_secret, body, other.account.webhook_secret).items():
        # when
        headers: dict[str, str | bytes] = {"content-type": "application/json"}
        if signature is not None:
            headers["x-signature"] = signature.encode("latin-1")  # bytes: any header octets
        response = await client.post(f"/webhooks/inbound/{team.account.id}", content=body, headers=headers)

        # then
        assert response.status_code == 401, name
        assert response.json() == {"error": "invalid signature"}, name
    assert await stored_counts() == before


@pytest.mark.parametrize("account_id", ["999999", "0", "abc", "-1", "1" * 30, "%20"])
async def test_unknown_account_is_refused_like_a_bad_signature(client, account_id):
    # given
    team = await make_account(client)
    body = orjson.dumps(payload())
    before = await stored_counts()

    # when
    response = await post_webhook(client, account_id, body, sign(team.account.webhook_secret, body))

    # then
    assert response.status_code == 401
    assert response.json() == {"error": "invalid signature"}
    assert await stored_counts() == before


@pytest.mark.parametrize("spelling", ["arabic-indic digits", "leading zero"])
async def test_an_account_id_in_another_spelling_is_not_that_account(client, spelling):
    # given: the account's id written another way, correctly signed
    team = await make_account(client)
    body = orjson.dumps(payload())
    account_id = str(team.account.id)
    if spelling == "leading zero":
        lookalike = "0" + account_id
    else:
        lookalike = "".join(chr(0x0660 + int(digit)) for digit in account_id)
    before = await stored_counts()

    # when
    response = await post_webhook(client, lookalike, body, sign(team.account.webhook_secret, body))

    # then
    assert response.status_code == 401
    assert await stored_counts() == before


async def test_a_secret_stops_working_once_rotated(client):
    # given
    team = await make_account(client)
    old_secret = team.account.webhook_secret
    rotated = data(await gql(client, "mutation{rotateWebhookSecret{account{webhookSecret} userErrors{code}}}",
                             token=team.admin.token))["rotateWebhookSecret"]
    new_secret = rotated["account"]["webhookSecret"]
    assert new_secret and new_secret != old_secret

    # when
    with_old = await post_inbound(client, team.account, payload("ext-old"), secret=old_secret)
    with_new = await post_inbound(client, team.account, payload("ext-new"), secret=new_secret)

    # then
    assert with_old.status_code == 401
    assert with_new.status_code == 200
    assert await Message.filter(external_id="ext-old").count() == 0


INVALID_PAYLOADS = {
    "missing id": ({"from": "+14155550123", "to": "+14155550100", "body": "hi"}, "id"),
    "empty id": (payload(" "), "id"),
    "numeric id": (payload(7), "id"),
    "id too long": (payload("x" * 201), "id"),
    "id with NUL": (payload("ext\x00-1"), "id"),
    "missing from": ({"id": "e", "to": "+14155550100", "body": "hi"}, "from"),
    "from not a string": (payload(phone=14155550123), "from"),
    "from without country code": (payload(phone="4155550123"), "from"),
    "from not a number": (payload(phone="call me"), "from"),
    "from too short": (payload(phone="+1 555"), "from"),
    "missing to": ({"id": "e", "from": "+14155550123", "body": "hi"}, "to"),
    "missing body": ({"id": "e", "from": "+14155550123", "to": "+14155550100"}, "body"),
    "body not a string": (payload(body=["hi"]), "body"),
    "empty body": (payload(body=""), "body"),
    "blank body": (payload(body=" \n\t "), "body"),
    "body over the maximum": (payload(body="x" * (MAX_BODY_LENGTH + 1)), "body"),
    "body with NUL": (payload(body="leak\x00ing"), "body"),
    "receivedAt not a time": (payload(receivedAt="yesterday"), "receivedAt"),
    "receivedAt without zone": (payload(receivedAt="2025-03-01T12:30:00"), "receivedAt"),
    "receivedAt a number": (payload(receivedAt=1700000000), "receivedAt"),
}


@pytest.mark.parametrize("case", list(INVALID_PAYLOADS))
async def test_invalid_payload_is_422_naming_the_field_and_nothing_is_stored(client, case):
    # given
    team = await make_account(client)
    body, field = INVALID_PAYLOADS[case]
    before = await stored_counts()

    # when
    response = await post_inbound(client, team.account, body)

    # then
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["field"] == field
    assert isinstance(answer["error"], str) and answer["error"]
    assert await stored_counts() == before


async def test_body_of_exactly_the_maximum_is_accepted(client):
    # given
    team = await make_account(client)

    # when
    response = await post_inbound(client, team.account, payload(body="x" * MAX_BODY_LENGTH))

    # then
    assert response.status_code == 200
    assert len((await Message.get(id=int(response.json()["messageId"]))).body) == MAX_BODY_LENGTH


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe", b'{"id": "x"', b'{"id": "\\ud800"}'])
async def test_malformed_json_is_422_and_nothing_is_stored(client, raw):
    # given
    team = await make_account(client)
    before = await stored_counts()

    # when
    response = await post_webhook(client, team.account.id, raw, sign(team.account.webhook_secret, raw))

    # then
    assert response.status_code == 422
    answer = response.json()
    assert set(answer) == {"error", "field"}
    assert answer["field"] is None
    assert "JSON" in answer["error"]
    assert await stored_counts() == before


@pytest.mark.parametrize("raw", [b"[]", b'"hello"', b"42", b"null", b'[{"id": "x"}]'])
async def test_json_that_is_not_an_object_is_422(client, raw):
    # given
    team = await make_account(client)
    before = await stored_counts()

    # when
    response = await post_webhook(client, team.account.id, raw, sign(team.account.webhook_secret, raw))

    # then
    assert response.status_code == 422
    assert set(response.json()) == {"error", "field"}
    assert await stored_counts() == before


async def test_oversized_request_is_413_and_nothing_is_stored(client, settings):
    # given: a signed body just over the server's request limit
    team = await make_account(client)
    body = orjson.dumps(payload(body="x" * 100, padding="p" * settings.max_body_bytes))
    before = await stored_counts()

    # when
    response = await post_webhook(client, team.account.id, body, sign(team.account.webhook_secret, body))

    # then
    assert response.status_code == 413
    assert await stored_counts() == before


async def test_oversized_chunked_request_is_413(client, settings):
    # given: no Content-Length, the body streamed in chunks
    team = await make_account(client)
    body = orjson.dumps(payload(padding="p" * settings.max_body_bytes))
    before = await stored_counts()

    async def chunks():
        for start in range(0, len(body), 16 * 1024):
            yield body[start:start + 16 * 1024]

    # when
    response = await client.post(
        f"/webhooks/inbound/{team.account.id}", content=chunks(),
        headers={"x-signature": sign(team.account.webhook_secret, body), "content-type": "application/json"},
    )

    # then
    assert response.status_code == 413
    assert await stored_counts() == before


async def test_concurrent_deliveries_of_the_same_id_store_one_message(client):
    # given
    team = await make_account(client)

    # when
    responses = await asyncio.gather(*(post_inbound(client, team.account, payload("ext-dup")) for _ in range(5)))

    # then
    assert [r.status_code for r in responses] == [200] * 5
    answers = [r.json() for r in responses]
    assert len({a["messageId"] for a in answers}) == 1
    assert sorted(a["duplicate"] for a in answers) == [False, True, True, True, True]
    assert await Message.filter(account_id=team.account.id).count() == 1
    assert await Contact.filter(account_id=team.account.id).count() == 1
    assert await Conversation.filter(account_id=team.account.id).count() == 1
    assert await Event.filter(account_id=team.account.id, kind="message.created").count() == 1


async def test_concurrent_messages_from_a_new_phone_share_one_contact_and_conversation(client):
    # given
    team = await make_account(client)

    # when
    responses = await asyncio.gather(*(
        post_inbound(client, team.account, payload(f"ext-{i}", "+14155550199", f"part {i}")) for i in range(5)
    ))

    # then
    assert [r.status_code for r in responses] == [200] * 5, [r.text for r in responses]
    answers = [r.json() for r in responses]
    assert len({a["conversationId"] for a in answers}) == 1
    assert len({a["messageId"] for a in answers}) == 5
    assert all(a["duplicate"] is False for a in answers)
    assert await Contact.filter(account_id=team.account.id).count() == 1
    assert await Conversation.filter(account_id=team.account.id).count() == 1
    bodies = await column(Message.filter(account_id=team.account.id), "body")
    assert sorted(bodies) == [f"part {i}" for i in range(5)]
    assert await Event.filter(account_id=team.account.id, kind="message.created").count() == 5
