"""retryMessage: a FAILED reply is sent again for real (the provider receives a second
request, unlike Chatwoot's retry that only relabelled the bubble), and only a FAILED
reply of the last day; a report of the failed attempt arriving again afterwards does not
fail the new one."""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from models import Message
from tests.support.delivery import (
    RETRY_MESSAGE,
    accepted,
    connect,
    conversation_with,
    delivery_events,
    delivery_is,
    delivery_server,
    reply,
    report,
    thread_message,
)
from tests.support.http import data, gql
from tests.support.providers.emulator import Reject
from tests.support.providers.twilio_emulator import TwilioEmulator
from tests.support.teams import make_team

CUSTOMER = "+14155550123"


@pytest.fixture
async def twilio() -> AsyncIterator[TwilioEmulator]:
    emulator = TwilioEmulator()
    async with emulator.running():
        yield emulator


async def retry(http, token: str, message_id: str) -> dict:
    payload: dict = data(await gql(http, RETRY_MESSAGE, {"messageId": message_id}, token=token))["retryMessage"]
    return payload


async def test_a_failed_reply_is_sent_again_for_real(settings, twilio):
    async with delivery_server(settings) as server, server.http() as http:
        # given: a reply Twilio refused
        team = await make_team(http)
        await connect(http, team, twilio)
        conversation = await conversation_with(http, team, CUSTOMER)
        bob = team["bob"]
        twilio.script(Reject(21614))
        stored = await reply(http, bob.token, conversation, "Your appointment is at 9")
        await delivery_is(http, bob.token, conversation, stored["id"], "FAILED")

        # when: Bob retries it
        payload = await retry(http, bob.token, stored["id"])

        # then: PENDING at once, then a second request reaches Twilio and it is SENT
        assert payload["userErrors"] == [] and payload["message"]["delivery"]["status"] == "PENDING"
        assert payload["message"]["delivery"]["errorCode"] is None
        sent = await delivery_is(http, bob.token, conversation, stored["id"], "SENT")
        assert sent["attempts"] == 1  # a fresh job's tries
        assert [r.form()["Body"] for r in twilio.requests] == ["Your appointment is at 9"] * 2
        assert [m.body for m in accepted(twilio)] == ["Your appointment is at 9"]
        assert await delivery_events(stored["id"]) == ["FAILED", "PENDING", "SENT"]


async def test_a_report_of_the_failed_attempt_repeated_after_the_retry_does_not_fail_it(settings, twilio):
    async with delivery_server(settings) as server, server.http() as http:
        # given: a reply Twilio took, then reported undelivered
        team = await make_team(http)
        await connect(http, team, twilio)
        conversation = await conversation_with(http, team, CUSTOMER)
        bob = team["bob"]
        stored = await reply(http, bob.token, conversation, "Your parcel is here")
        await delivery_is(http, bob.token, conversation, stored["id"], "SENT")
        [first] = accepted(twilio)
        undelivered = report(twilio, first.provider_id, "FAILED", "30003")
        assert (await undelivered.post(http)).status_code == 200
        await delivery_is(http, bob.token, conversation, stored["id"], "FAILED")

        # when: Bob retries it, it is sent, and Twilio's callback for the first attempt comes again
        assert (await retry(http, bob.token, stored["id"]))["userErrors"] == []
        await delivery_is(http, bob.token, conversation, stored["id"], "SENT")
        again = await undelivered.post(http)

        # then: answered (Twilio stops retrying) without failing the new attempt
        assert again.status_code == 200
        assert (await thread_message(http, bob.token, conversation, stored["id"]))["delivery"]["status"] == "SENT"
        [_, second] = accepted(twilio)
        assert (await report(twilio, second.provider_id, "DELIVERED").post(http)).status_code == 200
        await delivery_is(http, bob.token, conversation, stored["id"], "DELIVERED")


async def test_only_a_failed_reply_of_the_last_day_can_be_retried(settings, twilio):
    async with delivery_server(settings) as server, server.http() as http:
        # given: one reply SENT, one DELIVERED, one FAILED two days ago
        team = await make_team(http)
        await connect(http, team, twilio)
        conversation = await conversation_with(http, team, CUSTOMER)
        bob = team["bob"]
        sent = await reply(http, bob.token, conversation, "Sent")
        await delivery_is(http, bob.token, conversation, sent["id"], "SENT")
        delivered = await reply(http, bob.token, conversation, "Delivered")
        await delivery_is(http, bob.token, conversation, delivered["id"], "SENT")
        assert (await report(twilio, accepted(twilio)[1].provider_id, "DELIVERED").post(http)).status_code == 200
        await delivery_is(http, bob.token, conversation, delivered["id"], "DELIVERED")
        twilio.script(Reject(21614))
        old = await reply(http, bob.token, conversation, "Old")
        await delivery_is(http, bob.token, conversation, old["id"], "FAILED")
        message = await Message.get(id=int(old["id"]))
        await Message.filter(id=message.id).update(created_at=message.created_at - timedelta(days=2))

        # when
        refusals = [await retry(http, bob.token, m["id"]) for m in (sent, delivered, old)]

        # then: each refused with a reason, nothing moved, nothing sent again
        for payload in refusals:
            assert payload["message"] is None
            assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("VALIDATION", "messageId")]
        assert "SENT" in refusals[0]["userErrors"][0]["message"]
        assert "DELIVERED" in refusals[1]["userErrors"][0]["message"]
        assert "day" in refusals[2]["userErrors"][0]["message"]
        statuses = [(await thread_message(http, bob.token, conversation, m["id"]))["delivery"]["status"]
                    for m in (sent, delivered, old)]
        assert statuses == ["SENT", "DELIVERED", "FAILED"]
        assert len(twilio.requests) == 3
