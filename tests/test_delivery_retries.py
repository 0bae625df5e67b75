"""What the worker does when a send does not simply succeed: a provider saying nothing was
sent (429, 503 with Retry-After) is tried again, honouring Retry-After, and given up on
after MAX_ATTEMPTS; a send that may have gone (a timeout, a reset, a 500, an instance
dying between claiming and recording) is never sent again: it waits for the provider's
report, and without one is FAILED as UNCONFIRMED. The clock is moved by editing the job."""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest

from models import Message
from providers import PROVIDERS, registry
from providers.base import OutboundMessage, SendOutcome
from providers.twilio import Twilio
from resolvers import channels, delivery
from resolvers.delivery import MAX_ATTEMPTS
from tests.support.delivery import (
    EMULATORS,
    SECRET_KEY,
    accepted,
    connect,
    conversation_with,
    deadline_passed,
    delivery_events,
    delivery_is,
    delivery_server,
    delivery_when,
    eventually,
    job_of,
    job_state_is,
    notifications_of,
    reply,
    retry_due_now,
    thread_message,
    twilio_report_for_request,
)
from tests.support.live import running_server
from tests.support.providers.emulator import Behaviour, Hang, Reset, ServerError, TooManyRequests, Unavailable
from tests.support.providers.sending import TIMEOUT as SHORT_TIMEOUT
from tests.support.providers.twilio_emulator import TwilioEmulator
from tests.support.teams import make_team

CUSTOMER = "+14155550123"


@pytest.fixture
async def twilio(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[TwilioEmulator]:
    """Twilio's emulator, and the server's Twilio with a short read timeout: a request the
    emulator never answers (Hang) times out in half a second instead of five."""
    monkeypatch.setitem(PROVIDERS, "twilio", registry(SHORT_TIMEOUT)["twilio"])
    emulator = TwilioEmulator()
    async with emulator.running():
        yield emulator


def queued_after(attempts: int):
    """A job put back in the queue after its `attempts`th try (claiming counts a try)."""
    return lambda job: job.state.value == "QUEUED" and job.attempts == attempts


@pytest.mark.parametrize(("kind", "refusal", "code"), [
    ("twilio", TooManyRequests(retry_after="30"), "20429"),
    ("messagemedia", Unavailable(retry_after="30"), "503"),
    ("webhook", TooManyRequests(retry_after="30"), "UNAVAILABLE"),
])
async def test_a_send_the_provider_refused_for_now_is_retried_after_retry_after_and_sent_once(
    settings, kind: str, refusal: Behaviour, code: str
):
    emulator = EMULATORS[kind]()
    async with emulator.running(), delivery_server(settings) as server, server.http() as http:
        # given: the provider is overloaded for the first request
        team = await make_team(http)
        await connect(http, team, emulator)
        conversation = await conversation_with(http, team, CUSTOMER)
        bob = team["bob"]
        emulator.script(refusal)

        # when
        stored = await reply(http, bob.token, conversation, "Booked for Monday")

        # then: still PENDING, the refusal shown, the next try no sooner than Retry-After
        job = await eventually(lambda: job_of(stored["id"]), queued_after(1), "the first try refused")
        message = await Message.get(id=int(stored["id"]))
        assert job.next_attempt_at - message.delivery_updated_at >= timedelta(seconds=30)
        waiting = (await thread_message(http, bob.token, conversation, stored["id"]))["delivery"]
        assert (waiting["status"], waiting["errorCode"], waiting["attempts"]) == ("PENDING", code, 1)
        assert accepted(emulator) == [] and len(emulator.requests) == 1

        # when: the clock reaches the next try
        await retry_due_now(stored["id"])

        # then: sent, once
        sent = await delivery_is(http, bob.token, conversation, stored["id"], "SENT")
        assert (sent["attempts"], sent["errorCode"]) == (2, None)
        assert [m.body for m in accepted(emulator)] == ["Booked for Monday"] and len(emulator.requests) == 2
        assert await delivery_events(stored["id"]) == ["SENT"]


async def test_a_provider_that_never_takes_the_reply_is_given_up_on_after_max_attempts(settings, twilio):
    async with delivery_server(settings) as server, server.http() as http:
        # given: Twilio answers 429 to every try
        team = await make_team(http)
        await connect(http, team, twilio)
        conversation = await conversation_with(http, team, CUSTOMER)
        bob = team["bob"]
        twilio.script(*[TooManyRequests(retry_after=None)] * MAX_ATTEMPTS)

        # when: each backoff elapses in turn
        stored = await reply(http, bob.token, conversation, "Are you home?")
        for attempt in range(1, MAX_ATTEMPTS):
            await eventually(lambda: job_of(stored["id"]), queued_after(attempt), f"try {attempt} refused")
            await retry_due_now(stored["id"])

        # then: FAILED after the last, the author told; nothing was ever taken
        failed = await delivery_is(http, bob.token, conversation, stored["id"], "FAILED")
        assert (failed["errorCode"], failed["attempts"]) == ("GAVE_UP", MAX_ATTEMPTS)
        assert str(MAX_ATTEMPTS) in failed["errorMessage"] and "Too Many Requests" in failed["errorMessage"]
        assert (await job_of(stored["id"])).state.value == "DONE"
        assert len(twilio.requests) == MAX_ATTEMPTS and accepted(twilio) == []
        [told] = [n for n in await notifications_of(http, bob.token) if n["kind"] == "DELIVERY_FAILED"]
        assert told["message"]["id"] == stored["id"]


MAYBE_SENT = [pytest.param(Hang(), id="timeout"), pytest.param(Reset(), id="reset"),
              pytest.param(ServerError(500), id="500")]


async def _maybe_sent_reply(http, team, twilio: TwilioEmulator, disruption: Behaviour) -> tuple[str, dict]:
    """A reply whose one request to Twilio ended without an answer we can trust; then a
    second reply in the same conversation, sent: the worker has moved on past the first."""
    await connect(http, team, twilio)
    conversation = await conversation_with(http, team, CUSTOMER)
    bob = team["bob"]
    twilio.script(disruption)
    stored = await reply(http, bob.token, conversation, "The part arrives Tuesday")
    job = await job_state_is(stored["id"], "AWAITING_REPORT")
    assert job.attempts == 1 and job.deadline is not None
    waiting = (await thread_message(http, bob.token, conversation, stored["id"]))["delivery"]
    assert waiting["status"] == "PENDING" and waiting["errorMessage"]
    later = await reply(http, bob.token, conversation, "Sorry, Wednesday")
    await delivery_is(http, bob.token, conversation, later["id"], "SENT")
    return conversation, stored


@pytest.mark.parametrize("disruption", MAYBE_SENT)
async def test_a_send_that_may_have_gone_is_never_resent_and_waits_for_the_report(settings, twilio, disruption):
    async with delivery_server(settings) as server, server.http() as http:
        # given: a reply whose request may have reached Twilio
        team = await make_team(http)
        bob = team["bob"]
        conversation, stored = await _maybe_sent_reply(http, team, twilio, disruption)

        # then: one request for it, ever (the second is the later reply's)
        assert [r.form()["Body"] for r in twilio.requests] == ["The part arrives Tuesday", "Sorry, Wednesday"]

        # when: Twilio had taken it after all and reports it delivered
        answer = await twilio_report_for_request(twilio, 0, "delivered").post(http)

        # then
        assert answer.status_code == 200, answer.text
        delivered = await delivery_is(http, bob.token, conversation, stored["id"], "DELIVERED")
        assert (delivered["errorCode"], delivered["attempts"]) == (None, 1)
        assert (await job_of(stored["id"])).state.value == "DONE"
        assert len(twilio.requests) == 2


@pytest.mark.parametrize("disruption", MAYBE_SENT)
async def test_without_a_report_it_fails_unconfirmed_and_a_late_delivered_report_still_counts(
    settings, twilio, disruption
):
    async with delivery_server(settings) as server, server.http() as http:
        # given
        team = await make_team(http)
        bob = team["bob"]
        conversation, stored = await _maybe_sent_reply(http, team, twilio, disruption)

        # when: the wait for a report runs out
        await deadline_passed(stored["id"])
        await delivery.expire()

        # then: FAILED as unconfirmed, the author told, still one request
        failed = await delivery_is(http, bob.token, conversation, stored["id"], "FAILED")
        assert failed["errorCode"] == "UNCONFIRMED" and "may or may not" in failed["errorMessage"]
        assert (await job_of(stored["id"])).state.value == "DONE"
        assert [n["message"]["id"] for n in await notifications_of(http, bob.token)
                if n["kind"] == "DELIVERY_FAILED"] == [stored["id"]]

        # when: the provider's report comes late: it did arrive
        answer = await twilio_report_for_request(twilio, 0, "delivered").post(http)

        # then: the truth wins over our guess, and nothing moves it back
        assert answer.status_code == 200, answer.text
        await delivery_is(http, bob.token, conversation, stored["id"], "DELIVERED")
        late_failure = await twilio_report_for_request(twilio, 0, "undelivered", "30003").post(http)
        assert late_failure.status_code == 200
        assert (await thread_message(http, bob.token, conversation, stored["id"]))["delivery"]["status"] == "DELIVERED"
        assert await delivery_events(stored["id"]) == ["FAILED", "DELIVERED"]
        assert len(twilio.requests) == 2


async def test_a_send_cut_off_between_claiming_and_recording_is_not_resent_after_a_restart(settings, twilio):
    # given: an instance that claims the reply, hands it to Twilio, and dies before recording
    dying = replace(settings, secret_keys=(SECRET_KEY,))  # its own worker off: the test is that worker
    async with running_server(dying) as first, first.http() as http:
        team = await make_team(http)
        bob = team["bob"]
        await connect(http, team, twilio)
        conversation = await conversation_with(http, team, CUSTOMER)
        stored = await reply(http, bob.token, conversation, "Your invoice is attached")
        [claimed] = await delivery.claim("instance-that-dies", 10)
        assert claimed.message.id == int(stored["id"])
        await _send_as_the_dead_instance(claimed, first.http_url)
    assert [m.body for m in accepted(twilio)] == ["Your invoice is attached"]

    # when: the deployment restarts with its worker, and the dead instance's lease runs out
    async with delivery_server(settings) as server, server.http() as http:
        job = await job_of(stored["id"])
        assert (job.state.value, job.claimed_by, job.attempts) == ("SENDING", "instance-that-dies", 1)
        await deadline_passed(stored["id"])
        await delivery.expire()

        # then: it waits for a report (the worker passes over it: a later reply goes, it does not)
        assert (await job_of(stored["id"])).state.value == "AWAITING_REPORT"
        later = await reply(http, bob.token, conversation, "And the receipt")
        await delivery_is(http, bob.token, conversation, later["id"], "SENT")
        assert [r.form()["Body"] for r in twilio.requests] == ["Your invoice is attached", "And the receipt"]
        pending = (await thread_message(http, bob.token, conversation, stored["id"]))["delivery"]
        assert pending["status"] == "PENDING"

        # when: no report comes in time
        await deadline_passed(stored["id"])
        await delivery.expire()

        # then
        failed = await delivery_when(http, bob.token, conversation, stored["id"],
                                     lambda d: d["status"] == "FAILED", "the reply to fail unconfirmed")
        assert (failed["errorCode"], failed["attempts"]) == ("UNCONFIRMED", 1)
        assert len(twilio.requests) == 2


async def _send_as_the_dead_instance(claimed: delivery.ClaimedSend, public_url: str) -> None:
    """What the instance did before it died: the request to Twilio, its answer never recorded."""
    assert claimed.channel is not None
    provider, credentials = channels.provider_and_credentials(claimed.channel)
    assert isinstance(provider, Twilio)
    async with httpx.AsyncClient() as http:
        result = await provider.send(http, credentials, OutboundMessage(
            message_id=claimed.message.id, to_number=claimed.to_number, body=claimed.message.body,
            status_url=channels.callback_url(claimed.channel, public_url, "status"),
        ))
    assert result.outcome == SendOutcome.ACCEPTED
