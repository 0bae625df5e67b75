"""providers.messagemedia against the MessageMedia emulator over real HTTP: what
MessageMedia receives, what each answer means for sending again, and its callbacks,
authenticated by the token in the URLs we give it."""
from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from providers import PROVIDERS
from providers.base import (
    CallbackError,
    CallbackRequest,
    Credentials,
    ReportedState,
    SendOutcome,
    StatusReport,
    with_query,
)
from providers.messagemedia import MessageMedia, callback_token
from tests.support.providers.emulator import Hang, Reject, Reset, ServerError, TooManyRequests, Unavailable
from tests.support.providers.sending import CUSTOMER, TIMEOUT, nothing_listening, outbound

MESSAGEMEDIA = MessageMedia(TIMEOUT)
ACCOUNT = 7
BASE = "https://inbox.example.com/webhooks/messagemedia/7"


def status_url(credentials: Credentials, account_id: int = ACCOUNT) -> str:
    """The account's status URL as messagingChannel.statusUrl shows it."""
    return with_query(f"{BASE}/status", MESSAGEMEDIA.callback_query(credentials, account_id))


def test_the_registry_serves_messagemedia():
    assert isinstance(PROVIDERS["messagemedia"], MessageMedia)


async def test_an_accepted_message_is_the_documented_json_with_basic_auth(http, messagemedia):
    # given
    credentials = messagemedia.credentials()

    # when
    result = await MESSAGEMEDIA.send(http, credentials, outbound(status_url(credentials)))

    # then
    assert result.outcome is SendOutcome.ACCEPTED
    assert result.provider_message_id in messagemedia.messages
    [request] = messagemedia.requests
    assert (request.method, request.path) == ("POST", "/v1/messages")
    assert request.headers["content-type"] == "application/json"
    expected_auth = base64.b64encode(f"{messagemedia.api_key}:{messagemedia.api_secret}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected_auth}"
    assert request.json() == {"messages": [{
        "content": "Your order shipped today.", "destination_number": CUSTOMER, "format": "SMS",
        "delivery_report": True, "callback_url": status_url(credentials),
        "metadata": {"teaminbox_message_id": "42"},
        "source_number": messagemedia.sender_number, "source_number_type": "INTERNATIONAL",
    }]}


async def test_an_alphanumeric_sender_leaves_its_type_to_messagemedia(http, messagemedia):
    credentials = messagemedia.credentials(sender_number="ACME")

    await MESSAGEMEDIA.send(http, credentials, outbound(status_url(credentials)))

    sent = messagemedia.requests[0].json()["messages"][0]
    assert sent["source_number"] == "ACME" and "source_number_type" not in sent


async def test_wrong_credentials_are_refused_with_messagemedias_401(http, messagemedia):
    credentials = messagemedia.credentials(api_secret="wrong")

    result = await MESSAGEMEDIA.send(http, credentials, outbound(status_url(credentials)))

    assert (result.outcome, result.error_code) == (SendOutcome.REJECTED, "401")
    assert "Invalid authentication credentials" in (result.error_message or "")
    assert messagemedia.messages == {}


@pytest.mark.parametrize(("behaviour", "outcome", "retry_after"), [
    (TooManyRequests("2"), SendOutcome.NOT_SENT, 2.0),
    (Unavailable("3"), SendOutcome.NOT_SENT, 3.0),
    (Unavailable(None), SendOutcome.MAYBE_SENT, None),
    (ServerError(500), SendOutcome.MAYBE_SENT, None),
    (ServerError(502), SendOutcome.MAYBE_SENT, None),
])
async def test_overload_answers(http, messagemedia, behaviour, outcome, retry_after):
    messagemedia.script(behaviour)
    credentials = messagemedia.credentials()

    result = await MESSAGEMEDIA.send(http, credentials, outbound(status_url(credentials)))

    assert (result.outcome, result.retry_after) == (outcome, retry_after)
    assert result.error_message


async def test_a_request_messagemedia_finds_invalid_is_rejected_with_its_details(http, messagemedia):
    credentials = messagemedia.credentials()

    result = await MESSAGEMEDIA.send(http, credentials, outbound(status_url(credentials), to_number="not a number"))

    assert (result.outcome, result.error_code) == (SendOutcome.REJECTED, "400")
    assert "messages[0].destination_number" in (result.error_message or "")


async def test_a_scripted_refusal_is_permanent(http, messagemedia):
    messagemedia.script(Reject("Disabled feature", "Feature not enabled", status=403))
    credentials = messagemedia.credentials()

    result = await MESSAGEMEDIA.send(http, credentials, outbound(status_url(credentials)))

    assert (result.outcome, result.error_code) == (SendOutcome.REJECTED, "403")


@pytest.mark.parametrize(("behaviour", "reason"), [(Hang(), "ReadTimeout"), (Reset(), "ReadError")])
async def test_no_answer_after_the_request_was_sent_is_maybe_sent(http, messagemedia, behaviour, reason):
    messagemedia.script(behaviour)
    credentials = messagemedia.credentials()

    result = await MESSAGEMEDIA.send(http, credentials, outbound(status_url(credentials)))

    assert result.outcome is SendOutcome.MAYBE_SENT
    assert reason in (result.error_message or "")
    assert len(messagemedia.requests) == 1


async def test_no_connection_is_not_sent(http, messagemedia):
    credentials = messagemedia.credentials(url=nothing_listening())

    result = await MESSAGEMEDIA.send(http, credentials, outbound(status_url(credentials)))

    assert result.outcome is SendOutcome.NOT_SENT


# Callbacks


async def sent_message(http, messagemedia, credentials=None) -> str:
    credentials = credentials or messagemedia.credentials()
    result = await MESSAGEMEDIA.send(http, credentials, outbound(status_url(credentials)))
    assert result.provider_message_id is not None
    return result.provider_message_id


async def test_a_delivery_report_is_verified_and_parsed(http, messagemedia):
    message_id = await sent_message(http, messagemedia)
    report = messagemedia.delivery_report(message_id, "delivered").request()

    assert MESSAGEMEDIA.verify(messagemedia.credentials(), report, ACCOUNT)
    assert not MESSAGEMEDIA.is_inbound(report)
    assert MESSAGEMEDIA.parse_status(report) == StatusReport(message_id, 42, ReportedState.DELIVERED)


@pytest.mark.parametrize(("status", "state"), [
    ("enroute", None), ("submitted", ReportedState.SENT), ("delivered", ReportedState.DELIVERED),
    ("expired", ReportedState.FAILED), ("rejected", ReportedState.FAILED), ("failed", ReportedState.FAILED),
    ("undeliverable", ReportedState.FAILED), ("something-new", None),
])
async def test_every_documented_status_maps(http, messagemedia, status, state):
    message_id = await sent_message(http, messagemedia)

    report = MESSAGEMEDIA.parse_status(messagemedia.delivery_report(message_id, status).request())

    assert (report.provider_message_id, report.our_message_id, report.state) == (message_id, 42, state)
    if state is not ReportedState.FAILED:
        assert (report.error_code, report.error_message) == (None, None)


@pytest.mark.parametrize(("status", "code", "readable", "opted_out"), [
    ("failed", "414", "Destination unreachable", False),
    ("expired", "401", "Message validity period expired before delivery", False),
    ("rejected", "302", "Destination blocked on the account (opted out); message discarded", True),
    ("failed", "999", "MessageMedia error 999", False),
])
async def test_a_failure_carries_its_code_and_a_readable_reason(http, messagemedia, status, code, readable, opted_out):
    message_id = await sent_message(http, messagemedia)

    report = MESSAGEMEDIA.parse_status(messagemedia.delivery_report(message_id, status, code).request())

    assert (report.state, report.error_code, report.error_message, report.opted_out) == (
        ReportedState.FAILED, code, readable, opted_out)


async def test_callbacks_without_the_accounts_token_are_refused(http, messagemedia):
    credentials = messagemedia.credentials()
    good = messagemedia.delivery_report(await sent_message(http, messagemedia), "delivered").request()
    token = callback_token(credentials.api_secret, ACCOUNT)
    assert MESSAGEMEDIA.verify(credentials, good, ACCOUNT)

    no_token = replace(good, url=good.url.replace(f"token={token}", ""))
    wrong_token = replace(good, url=good.url.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B")))
    twice = replace(good, url=f"{good.url}&token={token}")
    assert not MESSAGEMEDIA.verify(credentials, no_token, ACCOUNT)
    assert not MESSAGEMEDIA.verify(credentials, wrong_token, ACCOUNT)
    assert not MESSAGEMEDIA.verify(credentials, twice, ACCOUNT)
    # Another account's URL (the token is bound to the account), another secret, no secret.
    assert not MESSAGEMEDIA.verify(credentials, good, ACCOUNT + 1)
    assert not MESSAGEMEDIA.verify(replace(credentials, api_secret="rotated"), good, ACCOUNT)
    assert not MESSAGEMEDIA.verify(replace(credentials, api_secret=""), good, ACCOUNT)


async def test_the_token_authenticates_the_url_not_the_body(http, messagemedia):
    # What the token cannot do (see providers/messagemedia.py): whoever holds the URL
    # could post any body. MessageMedia's RSA signature would, with a signature key.
    credentials = messagemedia.credentials()
    good = messagemedia.delivery_report(await sent_message(http, messagemedia), "delivered").request()

    tampered = replace(good, body=good.body.replace(b'"delivered"', b'"failed"'))

    assert MESSAGEMEDIA.verify(credentials, tampered, ACCOUNT)
    assert MESSAGEMEDIA.parse_status(tampered).state is ReportedState.FAILED


async def test_a_reply_reaches_the_status_url_and_is_an_inbound_message(http, messagemedia):
    # given: MessageMedia pushes replies to the message's callback_url, our status URL
    message_id = await sent_message(http, messagemedia)
    reply = messagemedia.reply(message_id, "Thanks, got it").request()

    # then
    assert MESSAGEMEDIA.verify(messagemedia.credentials(), reply, ACCOUNT)
    assert MESSAGEMEDIA.is_inbound(reply)
    inbound = MESSAGEMEDIA.parse_inbound(reply)
    assert inbound.provider_message_id == orjson.loads(reply.body)["reply_id"]
    assert (inbound.from_number, inbound.to_number, inbound.body) == (CUSTOMER, messagemedia.sender_number,
                                                                      "Thanks, got it")
    assert inbound.received_at is not None and inbound.received_at.tzinfo is UTC


async def test_a_reply_to_a_message_without_a_source_number_has_no_to_number(http, messagemedia):
    credentials = messagemedia.credentials(sender_number="")
    message_id = await sent_message(http, messagemedia, credentials)

    inbound = MESSAGEMEDIA.parse_inbound(messagemedia.reply(message_id, "Hi").request())

    assert (inbound.from_number, inbound.to_number) == (CUSTOMER, None)


async def test_a_message_to_the_number_arrives_at_the_inbound_url(messagemedia):
    credentials = messagemedia.credentials()
    url = with_query(f"{BASE}/inbound", MESSAGEMEDIA.callback_query(credentials, ACCOUNT))
    callback = messagemedia.inbound(url, CUSTOMER, "Are you open on Sunday?").request()

    assert MESSAGEMEDIA.verify(credentials, callback, ACCOUNT)
    assert MESSAGEMEDIA.is_inbound(callback)
    assert MESSAGEMEDIA.parse_inbound(callback).body == "Are you open on Sunday?"


def test_malformed_callbacks_name_the_field():
    def request(**fields) -> CallbackRequest:
        return CallbackRequest(f"{BASE}/status", {}, orjson.dumps(fields))

    cases = [
        (MESSAGEMEDIA.parse_status, request(message_id="m"), "status"),
        (MESSAGEMEDIA.parse_status, request(status="delivered"), "message_id"),
        (MESSAGEMEDIA.parse_status, request(status="delivered", message_id="m", metadata=[]), "metadata"),
        (MESSAGEMEDIA.parse_status, request(status="delivered", metadata={"teaminbox_message_id": "x"}),
         "metadata.teaminbox_message_id"),
        (MESSAGEMEDIA.parse_inbound, request(reply_id="r", source_number=CUSTOMER), "content"),
        (MESSAGEMEDIA.parse_inbound, request(reply_id="r", content="hi"), "source_number"),
        (MESSAGEMEDIA.parse_inbound, request(reply_id="r", source_number=CUSTOMER, content="hi",
                                             date_received="yesterday"), "date_received"),
        (MESSAGEMEDIA.parse_status, CallbackRequest(BASE, {}, b"[1]"), None),
    ]
    for parse, callback, field in cases:
        with pytest.raises(CallbackError) as error:
            parse(callback)
        assert error.value.field == field, (callback.body, error.value.message)


ANY_JSON = st.recursive(st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats() | st.text(),
                        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=10)
FIELDS = st.sampled_from(["status", "message_id", "metadata", "error_code", "reply_id", "source_number",
                          "destination_number", "content", "date_received"])
VALUES = st.one_of(ANY_JSON, st.sampled_from(["delivered", "failed", "2026-11-25T14:00:00Z", "+14155550123"]),
                   st.fixed_dictionaries({"teaminbox_message_id": ANY_JSON}))
CREDENTIALS = Credentials(api_key="k", api_secret="s", sender_number="+61491570157")


@given(fields=st.dictionaries(st.one_of(FIELDS, st.text()), VALUES), raw=st.one_of(st.none(), st.binary()),
       url=st.text())
def test_any_body_parses_or_is_a_callback_error(fields, raw, url):
    body = raw if raw is not None else orjson.dumps(fields)
    request = CallbackRequest(url, {}, body)
    assert isinstance(MESSAGEMEDIA.verify(CREDENTIALS, request, ACCOUNT), bool)
    assert isinstance(MESSAGEMEDIA.is_inbound(request), bool)
    for parse in (MESSAGEMEDIA.parse_status, MESSAGEMEDIA.parse_inbound):
        try:
            parse(request)
        except CallbackError as error:
            assert error.message
