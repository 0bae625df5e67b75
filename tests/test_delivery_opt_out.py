"""Opt-out both ways: a customer's STOP (through our JSON webhook, Twilio's signed inbound
form, or a MessageMedia reply) or the provider's opt-out error (Twilio 21610) marks the
contact opted out, and no reply reaches them (refused with RECIPIENT_OPTED_OUT before
anything is sent) until their START."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.delivery import (
    RETRY_MESSAGE,
    accepted,
    connect,
    conversation_with,
    delivery_is,
    delivery_server,
    eventually,
    job_of,
    opted_out,
    reply,
    retry_due_now,
)
from tests.support.documents import operation
from tests.support.http import data, gql
from tests.support.providers.emulator import Reject, TooManyRequests
from tests.support.providers.messagemedia_emulator import MessageMediaEmulator
from tests.support.providers.twilio_emulator import TwilioEmulator
from tests.support.teams import make_team
from tests.support.webhook import inbound

CUSTOMER = "+14155550123"
SEND = operation("SendMessage")


@pytest.fixture
async def twilio() -> AsyncIterator[TwilioEmulator]:
    emulator = TwilioEmulator()
    async with emulator.running():
        yield emulator


async def refused_reply(http, token: str, conversation_id: str, body: str) -> dict:
    """sendMessage's answer for a reply that must be refused: the payload."""
    payload = data(await gql(http, SEND, {"conversationId": conversation_id, "body": body},
                             token=token))["sendMessage"]
    assert payload["message"] is None, payload
    return payload


async def test_twilio_saying_the_recipient_opted_out_opts_the_contact_out(settings, twilio):
    async with delivery_server(settings) as server, server.http() as http:
        # given: Twilio knows the customer replied STOP to it
        team = await make_team(http)
        await connect(http, team, twilio)
        conversation = await conversation_with(http, team, CUSTOMER)
        bob = team["bob"]
        twilio.script(Reject(21610))

        # when
        stored = await reply(http, bob.token, conversation, "Following up")

        # then: FAILED with Twilio's code, and the contact is opted out
        failed = await delivery_is(http, bob.token, conversation, stored["id"], "FAILED")
        assert failed["errorCode"] == "21610"
        assert await opted_out(http, bob.token, conversation)

        # and: the next reply is refused before anything is sent
        payload = await refused_reply(http, bob.token, conversation, "Hello?")
        assert [e["code"] for e in payload["userErrors"]] == ["RECIPIENT_OPTED_OUT"]
        # and: so is retrying the failed one
        retried = data(await gql(http, RETRY_MESSAGE, {"messageId": stored["id"]}, token=bob.token))["retryMessage"]
        assert [e["code"] for e in retried["userErrors"]] == ["RECIPIENT_OPTED_OUT"]
        assert len(twilio.requests) == 1


async def test_stop_and_start_through_the_json_webhook(settings, twilio):
    async with delivery_server(settings) as server, server.http() as http:
        # given
        team = await make_team(http)
        await connect(http, team, twilio)
        conversation = await conversation_with(http, team, CUSTOMER)
        bob = team["bob"]

        # when: the customer texts STOP
        await inbound(http, team.account, CUSTOMER, " stop ")

        # then
        assert await opted_out(http, bob.token, conversation)
        payload = await refused_reply(http, bob.token, conversation, "Sorry to see you go")
        assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("RECIPIENT_OPTED_OUT", "conversationId")]

        # when: and START
        await inbound(http, team.account, CUSTOMER, "START")

        # then: replies go again
        assert not await opted_out(http, bob.token, conversation)
        stored = await reply(http, bob.token, conversation, "Welcome back")
        await delivery_is(http, bob.token, conversation, stored["id"], "SENT")
        assert [m.body for m in accepted(twilio)] == ["Welcome back"] and len(twilio.requests) == 1


async def test_stop_and_start_through_twilios_signed_inbound_form(settings, twilio):
    async with delivery_server(settings) as server, server.http() as http:
        # given: the inbound URL the admin pasted into Twilio's console
        team = await make_team(http)
        inbound_url = (await connect(http, team, twilio))["inboundUrl"]
        conversation = await conversation_with(http, team, CUSTOMER)
        bob = team["bob"]

        # when: the customer texts STOP; Twilio posts it, signed
        stop = await twilio.inbound(inbound_url, CUSTOMER, "STOP").post(http)

        # then: stored in the thread, and opted out
        assert stop.status_code == 200, stop.text
        assert await opted_out(http, bob.token, conversation)
        await refused_reply(http, bob.token, conversation, "Are you sure?")
        # a forged one is refused and changes nothing
        forged = twilio.inbound(inbound_url, CUSTOMER, "START")
        forged.headers["x-twilio-signature"] = "bm90IGEgc2lnbmF0dXJl"
        assert (await forged.post(http)).status_code == 401
        assert await opted_out(http, bob.token, conversation)

        # when: START, signed
        start = await twilio.inbound(inbound_url, CUSTOMER, "Start").post(http)

        # then
        assert start.status_code == 200, start.text
        assert not await opted_out(http, bob.token, conversation)
        bodies = await _inbound_bodies(http, bob.token, conversation)
        assert bodies == ["Hello?", "STOP", "Start"]
        stored = await reply(http, bob.token, conversation, "Glad you're back")
        await delivery_is(http, bob.token, conversation, stored["id"], "SENT")
        assert len(twilio.requests) == 1


async def test_stop_as_a_reply_messagemedia_pushes_to_the_status_url(settings):
    messagemedia = MessageMediaEmulator()
    async with messagemedia.running(), delivery_server(settings) as server, server.http() as http:
        # given: a reply MessageMedia took
        team = await make_team(http)
        await connect(http, team, messagemedia)
        conversation = await conversation_with(http, team, CUSTOMER)
        bob = team["bob"]
        stored = await reply(http, bob.token, conversation, "Reply STOP to opt out")
        await delivery_is(http, bob.token, conversation, stored["id"], "SENT")
        [taken] = accepted(messagemedia)

        # when: the customer answers it with STOP (MessageMedia posts replies to the message's callback_url)
        answer = await messagemedia.reply(taken.provider_id, "STOP").post(http)

        # then
        assert answer.status_code == 200, answer.text
        assert await opted_out(http, bob.token, conversation)
        assert (await _inbound_bodies(http, bob.token, conversation))[-1] == "STOP"
        await refused_reply(http, bob.token, conversation, "One more thing")
        assert len(messagemedia.requests) == 1


async def test_a_reply_still_queued_when_the_customer_opts_out_is_not_sent(settings, twilio):
    async with delivery_server(settings) as server, server.http() as http:
        # given: a reply waiting to be tried again (Twilio asked us to wait)
        team = await make_team(http)
        await connect(http, team, twilio)
        conversation = await conversation_with(http, team, CUSTOMER)
        bob = team["bob"]
        twilio.script(TooManyRequests(retry_after="30"))
        stored = await reply(http, bob.token, conversation, "Still there?")
        await eventually(lambda: job_of(stored["id"]), lambda job: job.state.value == "QUEUED" and job.attempts == 1,
                         "the first try refused")

        # when: the customer texts STOP, then the retry comes due
        await inbound(http, team.account, CUSTOMER, "STOP")
        await retry_due_now(stored["id"])

        # then: it is not sent; it fails as opted out
        failed = await delivery_is(http, bob.token, conversation, stored["id"], "FAILED")
        assert failed["errorCode"] == "RECIPIENT_OPTED_OUT"
        assert len(twilio.requests) == 1 and accepted(twilio) == []
        assert (await job_of(stored["id"])).state.value == "DONE"


async def _inbound_bodies(http, token: str, conversation_id: str) -> list[str]:
    thread = data(await gql(http, operation("ConversationThread"), {"id": conversation_id, "first": 50},
                            token=token))["conversation"]
    return [edge["node"]["body"] for edge in thread["timeline"]["edges"]
            if edge["node"]["__typename"] == "Message" and edge["node"]["direction"] == "INBOUND"]
