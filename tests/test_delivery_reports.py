"""Delivery reports at POST /webhooks/{provider}/{accountId}/status, as each provider sends
them: statuses move forward only (a late SENT after DELIVERED changes nothing), a repeat
is answered 200 and changes nothing, a forged or misdirected report is 401 and changes
nothing, one for no message of the account is 404; and a provider's permanent refusal
fails the reply with its code and tells the member who holds the conversation."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.delivery import (
    EMULATORS,
    ProviderEmulator,
    accepted,
    connect,
    conversation_with,
    delivery_events,
    delivery_is,
    delivery_server,
    notifications_of,
    reply,
    report,
    thread_message,
)
from tests.support.documents import operation
from tests.support.http import mutate
from tests.support.providers.emulator import Callback, Reject
from tests.support.providers.messagemedia_emulator import MessageMediaEmulator
from tests.support.providers.twilio_emulator import TwilioEmulator
from tests.support.providers.webhook_emulator import WebhookEmulator
from tests.support.teams import make_team

CUSTOMER = "+14155550123"


@pytest.fixture(params=sorted(EMULATORS))
async def emulators(request: pytest.FixtureRequest) -> AsyncIterator[tuple[ProviderEmulator, ProviderEmulator]]:
    """Two of the same provider's emulators: one per account."""
    ours, theirs = EMULATORS[request.param](), EMULATORS[request.param]()
    async with ours.running(), theirs.running():
        yield ours, theirs


async def test_reports_out_of_order_and_repeated_move_the_reply_forward_only(settings, emulators):
    emulator, _ = emulators
    async with delivery_server(settings) as server, server.http() as http:
        # given: a reply the provider took
        team = await make_team(http)
        await connect(http, team, emulator)
        conversation = await conversation_with(http, team, CUSTOMER)
        bob = team["bob"]
        stored = await reply(http, bob.token, conversation, "Done and dusted")
        await delivery_is(http, bob.token, conversation, stored["id"], "SENT")
        [taken] = accepted(emulator)

        # when: DELIVERED arrives first, then the provider's SENT, then DELIVERED again, then a failure
        delivered = report(emulator, taken.provider_id, "DELIVERED")
        failure_code = "30003" if isinstance(emulator, TwilioEmulator) else "400"
        answers = [await delivered.post(http), await report(emulator, taken.provider_id, "SENT").post(http),
                   await delivered.post(http), await delivered.post(http),
                   await report(emulator, taken.provider_id, "FAILED", failure_code).post(http)]

        # then: every one is handled (the provider stops retrying), only the first moved it
        assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
        final = (await thread_message(http, bob.token, conversation, stored["id"]))["delivery"]
        assert (final["status"], final["errorCode"], final["attempts"]) == ("DELIVERED", None, 1)
        assert await delivery_events(stored["id"]) == ["SENT", "DELIVERED"]
        assert len(emulator.requests) == 1


def forged(callback: Callback) -> Callback:
    """The same report with its proof of origin broken: the signature (Twilio, WEBHOOK) or
    the URL's token (MessageMedia) altered."""
    headers = dict(callback.headers)
    for name in ("x-twilio-signature", "x-signature"):
        if name in headers:
            headers[name] = headers[name][:-4] + ("AAAA" if not headers[name].endswith("AAAA") else "BBBB")
            return Callback(callback.url, headers, callback.body)
    return Callback(callback.url.replace("token=", "token=x"), headers, callback.body)


async def test_forged_and_misdirected_reports_are_refused_and_change_nothing(settings, emulators):
    ours, theirs = emulators
    async with delivery_server(settings) as server, server.http() as http:
        # given: two accounts on the same provider, each with a reply the provider took
        team, other = await make_team(http), await make_team(http)
        await connect(http, team, ours)
        await connect(http, other, theirs)
        conversation = await conversation_with(http, team, CUSTOMER)
        elsewhere = await conversation_with(http, other, CUSTOMER)
        bob = team["bob"]
        stored = await reply(http, bob.token, conversation, "Ours")
        their_reply = await reply(http, other["bob"].token, elsewhere, "Theirs")
        await delivery_is(http, bob.token, conversation, stored["id"], "SENT")
        await delivery_is(http, other["bob"].token, elsewhere, their_reply["id"], "SENT")
        [taken] = accepted(ours)
        genuine = report(ours, taken.provider_id, "DELIVERED")
        assert f"/{team.account.id}/status" in genuine.url

        # when: the report forged, or taken to the other account's URL
        misdirected = Callback(genuine.url.replace(f"/{team.account.id}/status", f"/{other.account.id}/status"),
                               genuine.headers, genuine.body)
        answers = [await forged(genuine).post(http), await misdirected.post(http)]

        # then: refused alike, and neither reply moved
        assert [a.status_code for a in answers] == [401, 401]
        assert answers[0].json() == answers[1].json() == {"error": "invalid signature"}
        for token, conversation_id, message in ((bob.token, conversation, stored),
                                                (other["bob"].token, elsewhere, their_reply)):
            delivery = (await thread_message(http, token, conversation_id, message["id"]))["delivery"]
            assert delivery["status"] == "SENT"
            assert await delivery_events(message["id"]) == ["SENT"]

        # and: the genuine one is still taken
        assert (await genuine.post(http)).status_code == 200
        await delivery_is(http, bob.token, conversation, stored["id"], "DELIVERED")


async def test_a_report_for_no_message_of_the_account_is_not_found(settings):
    twilio, bridge = TwilioEmulator(), WebhookEmulator()
    async with twilio.running(), bridge.running(), delivery_server(settings) as server, server.http() as http:
        # given: a Twilio account and a WEBHOOK account
        team, other = await make_team(http), await make_team(http)
        twilio_status = (await connect(http, team, twilio))["statusUrl"]
        bridge_status = (await connect(http, other, bridge))["statusUrl"]
        conversation = await conversation_with(http, other, CUSTOMER)
        theirs = await reply(http, other["bob"].token, conversation, "Theirs")
        await delivery_is(http, other["bob"].token, conversation, theirs["id"], "SENT")

        # when: signed reports naming messages that are not the account's
        unknown_sid = twilio.signed(twilio_status, {
            "AccountSid": twilio.account_sid, "MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered",
            "To": CUSTOMER, "From": twilio.sender_number})
        other_accounts_id = twilio.signed(f"{twilio_status}?messageId={theirs['id']}", {
            "AccountSid": twilio.account_sid, "MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered",
            "To": CUSTOMER, "From": twilio.sender_number})
        unknown_bridge_id = bridge.signed(bridge_status, {"id": "br-unknown", "status": "delivered"})
        answers = [await unknown_sid.post(http), await other_accounts_id.post(http),
                   await unknown_bridge_id.post(http)]

        # then: not found (the provider stops asking), and the other account's reply did not move
        assert [a.status_code for a in answers] == [404, 404, 404], [a.text for a in answers]
        assert (await thread_message(http, other["bob"].token, conversation, theirs["id"]))["delivery"][
            "status"] == "SENT"


async def test_a_permanent_refusal_fails_the_reply_with_the_providers_code_and_tells_the_assignee(settings):
    twilio = TwilioEmulator()
    async with twilio.running(), delivery_server(settings) as server, server.http() as http:
        # given: Carol holds the conversation; Twilio refuses the number for good
        team = await make_team(http)
        await connect(http, team, twilio)
        conversation = await conversation_with(http, team, CUSTOMER)
        bob, carol = team["bob"], team["carol"]
        await mutate(http, operation("AssignConversation"), {"conversationId": conversation, "assigneeId": carol.id},
                     team.admin.token)
        twilio.script(Reject(21211))

        # when: Bob replies
        stored = await reply(http, bob.token, conversation, "Call me back")

        # then: FAILED with Twilio's code and message, tried once; Carol is told, Bob is not
        failed = await delivery_is(http, bob.token, conversation, stored["id"], "FAILED")
        assert (failed["errorCode"], failed["attempts"]) == ("21211", 1)
        assert "is not a valid phone number" in failed["errorMessage"]
        assert len(twilio.requests) == 1 and accepted(twilio) == []
        [told] = [n for n in await notifications_of(http, carol.token) if n["kind"] == "DELIVERY_FAILED"]
        assert told["message"]["id"] == stored["id"] and told["conversation"]["id"] == conversation
        assert [n for n in await notifications_of(http, bob.token) if n["kind"] == "DELIVERY_FAILED"] == []


async def test_a_failure_reported_after_sending_fails_the_reply_with_the_providers_code(settings):
    messagemedia = MessageMediaEmulator()
    async with messagemedia.running(), delivery_server(settings) as server, server.http() as http:
        # given: a reply MessageMedia took
        team = await make_team(http)
        await connect(http, team, messagemedia)
        conversation = await conversation_with(http, team, CUSTOMER)
        bob = team["bob"]
        stored = await reply(http, bob.token, conversation, "Your quote is ready")
        await delivery_is(http, bob.token, conversation, stored["id"], "SENT")
        [taken] = accepted(messagemedia)

        # when: the carrier could not reach the handset
        answer = await report(messagemedia, taken.provider_id, "FAILED", "414").post(http)

        # then
        assert answer.status_code == 200
        failed = await delivery_is(http, bob.token, conversation, stored["id"], "FAILED")
        assert (failed["errorCode"], failed["errorMessage"]) == ("414", "Destination unreachable")
        [told] = [n for n in await notifications_of(http, bob.token) if n["kind"] == "DELIVERY_FAILED"]
        assert told["message"]["id"] == stored["id"]
