"""Replies reach the customer: the real delivery worker of a real server sends each reply
through the account's provider (a loopback emulator of Twilio, MessageMedia or our
signed WEBHOOK bridge) exactly once, and the provider's signed reports move it on; all
through the public API (sendMessage, the thread, conversationEvents)."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from models import DeliveryJob, Message
from tests.support.delivery import (
    EMULATORS,
    SET_MESSAGING_CHANNEL,
    ProviderEmulator,
    accepted,
    connect,
    conversation_with,
    delivery_is,
    delivery_server,
    job_of,
    notifications_of,
    reply,
    report,
    thread_message,
)
from tests.support.http import mutate
from tests.support.live import watch_conversation, ws_session
from tests.support.providers.twilio_emulator import TwilioEmulator
from tests.support.teams import make_team

CUSTOMER = "+14155550123"


@pytest.fixture(params=sorted(EMULATORS))
async def emulator(request: pytest.FixtureRequest) -> AsyncIterator[ProviderEmulator]:
    running = EMULATORS[request.param]()
    async with running.running():
        yield running


def delivery_changed(message_id: str, status: str):
    def matches(item: dict) -> bool:
        event = item["conversationEvents"]
        return (event["__typename"] == "MessageDeliveryChanged" and event["message"]["id"] == message_id
                and event["message"]["delivery"]["status"] == status)
    return matches


async def test_a_reply_is_sent_once_then_delivered_on_the_providers_signed_report(settings, emulator):
    async with delivery_server(settings) as server, server.http() as http:
        # given: an account connected to the provider, a customer's conversation
        team = await make_team(http)
        await connect(http, team, emulator)
        conversation = await conversation_with(http, team, CUSTOMER)
        bob = team["bob"]
        async with ws_session(server, bob.token) as session:
            events = await watch_conversation(session, conversation)

            # when: Bob replies
            stored = await reply(http, bob.token, conversation, "A plumber comes at 3pm")

            # then: answered at once as PENDING, then the worker hands it to the provider once
            assert stored["delivery"]["status"] == "PENDING"
            sent = await delivery_is(http, bob.token, conversation, stored["id"], "SENT")
            assert (sent["attempts"], sent["errorCode"], sent["errorMessage"]) == (1, None, None)
            [taken] = accepted(emulator)
            assert (taken.to, taken.body) == (CUSTOMER, "A plumber comes at 3pm")
            assert len(emulator.requests) == 1
            await events.wait_for(delivery_changed(stored["id"], "SENT"))

            # when: the provider reports it delivered, signed its way, to the URL we gave it
            answer = await report(emulator, taken.provider_id, "DELIVERED").post(http)

            # then
            assert answer.status_code == 200, answer.text
            delivered = await delivery_is(http, bob.token, conversation, stored["id"], "DELIVERED")
            assert delivered["attempts"] == 1
            await events.wait_for(delivery_changed(stored["id"], "DELIVERED"))
            await events.stop()
        assert len(emulator.requests) == 1
        assert (await job_of(stored["id"])).state.value == "DONE"


async def test_a_replayed_client_message_id_is_the_same_reply_sent_once(settings):
    twilio = TwilioEmulator()
    async with twilio.running(), delivery_server(settings) as server, server.http() as http:
        # given
        team = await make_team(http)
        await connect(http, team, twilio)
        conversation = await conversation_with(http, team, CUSTOMER)
        bob = team["bob"]

        # when: a phone on a bad network sends the same mutation three times
        first = await reply(http, bob.token, conversation, "On my way", client_message_id="phone-42")
        again = await reply(http, bob.token, conversation, "On my way", client_message_id="phone-42")
        await delivery_is(http, bob.token, conversation, first["id"], "SENT")
        late = await reply(http, bob.token, conversation, "On my way", client_message_id="phone-42")

        # then: one reply, one job, one request to the provider
        assert first["id"] == again["id"] == late["id"]
        assert [m.body for m in accepted(twilio)] == ["On my way"] and len(twilio.requests) == 1
        thread = await thread_message(http, bob.token, conversation, first["id"])
        assert thread["delivery"]["attempts"] == 1
        assert await Message.filter(conversation_id=int(conversation), direction="OUTBOUND").count() == 1
        assert await DeliveryJob.filter(conversation_id=int(conversation)).count() == 1


async def test_without_a_channel_a_reply_fails_at_once_and_its_author_is_told(settings):
    async with delivery_server(settings) as server, server.http() as http:
        # given: an account that never connected a provider
        team = await make_team(http)
        conversation = await conversation_with(http, team, CUSTOMER)
        bob = team["bob"]

        # when
        stored = await reply(http, bob.token, conversation, "Hello from the team")

        # then
        failed = await delivery_is(http, bob.token, conversation, stored["id"], "FAILED")
        assert failed["errorCode"] == "NO_CHANNEL" and "setMessagingChannel" in failed["errorMessage"]
        [told] = [n for n in await notifications_of(http, bob.token) if n["kind"] == "DELIVERY_FAILED"]
        assert told["message"]["id"] == stored["id"] and told["conversation"]["id"] == conversation


async def test_the_simulated_channel_sends_then_delivers_and_fails_on_purpose(settings):
    async with delivery_server(settings) as server, server.http() as http:
        # given: the demo's built-in simulated channel
        team = await make_team(http)
        await mutate(http, SET_MESSAGING_CHANNEL, {"input": {"provider": "SIMULATED", "senderNumber": "+14155550100"}},
                     team.admin.token)
        conversation = await conversation_with(http, team, CUSTOMER)
        bob = team["bob"]
        async with ws_session(server, bob.token) as session:
            events = await watch_conversation(session, conversation)

            # when
            fine = await reply(http, bob.token, conversation, "See you at noon")
            doomed = await reply(http, bob.token, conversation, "This one will fail")

            # then: the first is sent, then delivered a moment later; the other fails
            await events.wait_for(delivery_changed(fine["id"], "SENT"))
            await events.wait_for(delivery_changed(fine["id"], "DELIVERED"))
            await events.wait_for(delivery_changed(doomed["id"], "FAILED"))
            await events.stop()
        delivered = await delivery_is(http, bob.token, conversation, fine["id"], "DELIVERED")
        failed = await delivery_is(http, bob.token, conversation, doomed["id"], "FAILED")
        assert delivered["errorCode"] is None and failed["errorCode"] == "SIMULATED_FAILURE"

