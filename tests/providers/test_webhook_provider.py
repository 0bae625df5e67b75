"""providers.webhook (our signed JSON, for any provider behind a bridge) against a bridge
emulator over real HTTP; and the outcome rules every provider shares
(providers.transport)."""
from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

import server.webhook
from providers import PROVIDERS, registry
from providers.base import CallbackError, CallbackRequest, Credentials, ReportedState, SendOutcome, StatusReport
from providers.transport import retry_after
from providers.webhook import Webhook, sign
from tests.support.providers.emulator import Hang, Reject, Reset, ServerError, TooManyRequests, Unavailable
from tests.support.providers.sending import CUSTOMER, TIMEOUT, nothing_listening, outbound
from tests.support.providers.webhook_emulator import signature

WEBHOOK = Webhook(TIMEOUT)
STATUS_URL = "https://inbox.example.com/webhooks/webhook/7/status"


def test_one_signing_scheme_for_the_inbound_route_and_the_provider():
    assert server.webhook.sign is sign
    assert sign("secret", b"{}") == signature("secret", b"{}")


def test_the_registry_holds_the_providers_and_the_network_ones_take_a_timeout():
    assert sorted(PROVIDERS) == ["messagemedia", "simulated", "twilio", "webhook"]
    networked = registry(TIMEOUT)
    assert all(networked[name].timeout == TIMEOUT for name in ("messagemedia", "twilio", "webhook"))  # type: ignore[attr-defined]


async def test_an_accepted_message_is_signed_json(http, bridge):
    result = await WEBHOOK.send(http, bridge.credentials(), outbound(STATUS_URL))

    assert result.outcome is SendOutcome.ACCEPTED
    assert result.provider_message_id in bridge.messages
    [request] = bridge.requests
    assert request.path == "/send"
    assert request.headers["x-signature"] == signature(bridge.secret, request.body)
    assert request.json() == {"id": 42, "to": CUSTOMER, "from": bridge.sender_number,
                              "body": "Your order shipped today.", "statusUrl": STATUS_URL}


async def test_a_wrong_secret_is_refused_by_the_bridge(http, bridge):
    result = await WEBHOOK.send(http, bridge.credentials(api_secret="wrong"), outbound(STATUS_URL))

    assert (result.outcome, result.error_code) == (SendOutcome.REJECTED, "401")
    assert "invalid signature" in (result.error_message or "")


@pytest.mark.parametrize(("behaviour", "outcome", "retry_after_seconds"), [
    (TooManyRequests("2"), SendOutcome.NOT_SENT, 2.0),
    (Unavailable("3"), SendOutcome.NOT_SENT, 3.0),
    (Unavailable(None), SendOutcome.MAYBE_SENT, None),
    (ServerError(500), SendOutcome.MAYBE_SENT, None),
    (Reject("TIMEOUT", "Request timed out", status=408), SendOutcome.NOT_SENT, None),
])
async def test_overload_answers(http, bridge, behaviour, outcome, retry_after_seconds):
    bridge.script(behaviour)

    result = await WEBHOOK.send(http, bridge.credentials(), outbound(STATUS_URL))

    assert (result.outcome, result.retry_after) == (outcome, retry_after_seconds)


async def test_a_refusal_carries_the_bridges_code_and_message(http, bridge):
    bridge.script(Reject("INVALID_NUMBER", "Not a mobile number", status=422))

    result = await WEBHOOK.send(http, bridge.credentials(), outbound(STATUS_URL))

    assert (result.outcome, result.error_code, result.opted_out) == (SendOutcome.REJECTED, "INVALID_NUMBER", False)
    assert "Not a mobile number" in (result.error_message or "")


async def test_a_refusal_can_say_the_recipient_opted_out(http, bridge):
    bridge.script(Reject("RECIPIENT_OPTED_OUT", "Replied STOP"))

    result = await WEBHOOK.send(http, bridge.credentials(), outbound(STATUS_URL))

    assert (result.outcome, result.opted_out) == (SendOutcome.REJECTED, True)


@pytest.mark.parametrize(("behaviour", "reason"), [(Hang(), "ReadTimeout"), (Reset(), "ReadError")])
async def test_no_answer_after_the_request_was_sent_is_maybe_sent(http, bridge, behaviour, reason):
    bridge.script(behaviour)

    result = await WEBHOOK.send(http, bridge.credentials(), outbound(STATUS_URL))

    assert result.outcome is SendOutcome.MAYBE_SENT
    assert reason in (result.error_message or "")
    assert len(bridge.requests) == 1


async def test_no_connection_is_not_sent(http, bridge):
    result = await WEBHOOK.send(http, bridge.credentials(url=nothing_listening()), outbound(STATUS_URL))

    assert result.outcome is SendOutcome.NOT_SENT


@pytest.mark.parametrize("url", [None, "", "ftp://bridge.example/send", "http://[::1/send", "not a url"])
async def test_a_channel_we_cannot_send_with_is_rejected_at_once(http, url):
    credentials = Credentials(api_key="", api_secret="s", sender_number="+14155550100", url=url)

    result = await WEBHOOK.send(http, credentials, outbound(STATUS_URL))

    assert (result.outcome, result.error_code) == (SendOutcome.REJECTED, "CONFIGURATION")


async def test_a_2xx_without_an_id_is_still_accepted(http):
    # A bridge that answers 204: it took the message; reports match on our id.
    transport = httpx.MockTransport(lambda request: httpx.Response(204))
    async with httpx.AsyncClient(transport=transport) as client:
        credentials = Credentials(api_key="", api_secret="s", sender_number="+14155550100", url="http://b.test/")
        result = await WEBHOOK.send(client, credentials, outbound(STATUS_URL))

    assert (result.outcome, result.provider_message_id) == (SendOutcome.ACCEPTED, None)


# Callbacks


async def sent_message(http, bridge) -> str:
    result = await WEBHOOK.send(http, bridge.credentials(), outbound(STATUS_URL))
    assert result.provider_message_id is not None
    return result.provider_message_id


@pytest.mark.parametrize(("status", "state"), [
    ("sent", ReportedState.SENT), ("delivered", ReportedState.DELIVERED), ("failed", ReportedState.FAILED),
])
async def test_every_status_is_verified_and_parsed(http, bridge, status, state):
    bridge_id = await sent_message(http, bridge)
    callback = bridge.status(bridge_id, status).request()

    assert callback.url == STATUS_URL
    assert WEBHOOK.verify(bridge.credentials(), callback, 7)
    assert not WEBHOOK.is_inbound(callback)
    report = WEBHOOK.parse_status(callback)
    assert (report.provider_message_id, report.our_message_id, report.state) == (bridge_id, 42, state)


async def test_a_failure_carries_the_bridges_code_and_message(http, bridge):
    bridge_id = await sent_message(http, bridge)
    callback = bridge.status(bridge_id, "failed", errorCode="30003", errorMessage="Handset unreachable").request()

    assert WEBHOOK.parse_status(callback) == StatusReport(bridge_id, 42, ReportedState.FAILED, "30003",
                                                          "Handset unreachable", False)
    opted_out = bridge.status(bridge_id, "failed", optedOut=True).request()
    assert WEBHOOK.parse_status(opted_out).opted_out is True
    assert WEBHOOK.parse_status(opted_out).error_message == "The webhook bridge reported a failure"


async def test_forged_or_altered_callbacks_are_refused(http, bridge):
    good = bridge.status(await sent_message(http, bridge), "delivered").request()
    credentials = bridge.credentials()
    assert WEBHOOK.verify(credentials, good, 7)

    tampered = replace(good, body=good.body.replace(b"delivered", b"failed"))
    unsigned = replace(good, headers={"content-type": "application/json"})
    wrong_key = replace(good, headers={**good.headers, "x-signature": signature("other", good.body)})
    not_ascii = replace(good, headers={**good.headers, "x-signature": "sha256=\u00e9\ud800"})
    for request in (tampered, unsigned, wrong_key, not_ascii):
        assert not WEBHOOK.verify(credentials, request, 7)
    assert not WEBHOOK.verify(replace(credentials, api_secret=""), replace(good, headers={
        "x-signature": signature("", good.body)}), 7)


async def test_an_inbound_message_is_todays_inbound_body(bridge):
    callback = bridge.inbound("https://inbox.example.com/webhooks/webhook/7/inbound", CUSTOMER, "Hello",
                              receivedAt="2026-11-25T14:00:00+01:00").request()

    assert WEBHOOK.verify(bridge.credentials(), callback, 7)
    assert WEBHOOK.is_inbound(callback)
    message = WEBHOOK.parse_inbound(callback)
    assert (message.from_number, message.to_number, message.body) == (CUSTOMER, bridge.sender_number, "Hello")
    assert message.received_at == datetime(2026, 11, 25, 13, 0, tzinfo=UTC)


def test_malformed_callbacks_name_the_field():
    def request(**fields) -> CallbackRequest:
        return CallbackRequest(STATUS_URL, {}, orjson.dumps(fields))

    cases = [
        (WEBHOOK.parse_status, request(id="b", status="queued"), "status"),
        (WEBHOOK.parse_status, request(status="sent"), "messageId"),
        (WEBHOOK.parse_status, request(messageId="forty-two", status="sent"), "messageId"),
        (WEBHOOK.parse_status, request(messageId=42, id=[], status="sent"), "id"),
        (WEBHOOK.parse_status, request(messageId=42, status="failed", optedOut="yes"), "optedOut"),
        (WEBHOOK.parse_status, request(messageId=42, status="failed", errorMessage=5), "errorMessage"),
        (WEBHOOK.parse_inbound, request(**{"from": CUSTOMER, "to": CUSTOMER, "body": "x"}), "id"),
        (WEBHOOK.parse_inbound, request(id="i", to=CUSTOMER, body="x"), "from"),
        (WEBHOOK.parse_inbound, request(id="i", body=None), "body"),
        (WEBHOOK.parse_inbound, request(**{"id": "i", "from": CUSTOMER, "to": CUSTOMER, "body": "x",
                                           "receivedAt": "2026-11-25T14:00:00"}), "receivedAt"),
        (WEBHOOK.parse_inbound, CallbackRequest(STATUS_URL, {}, b"\xff"), None),
    ]
    for parse, callback, field in cases:
        with pytest.raises(CallbackError) as error:
            parse(callback)
        assert error.value.field == field, (callback.body, error.value.message)


def test_retry_after_in_seconds_or_as_a_date():
    def parsed(value: str) -> float | None:
        return retry_after(httpx.Headers({b"retry-after": value.encode()}))  # as bytes off the wire

    assert parsed("120") == 120.0
    assert parsed(" 7 ") == 7.0
    assert parsed("1.5") == 1.5
    in_an_hour = parsed(format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True))
    assert in_an_hour is not None and 3000 < in_an_hour <= 3600
    assert parsed(format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)) == 0.0
    for nonsense in ("soon", "-1", "nan", "inf", "", "\u0663"):
        assert parsed(nonsense) is None
    assert retry_after(httpx.Headers()) is None


@given(status=st.integers(200, 599), retry=st.one_of(st.none(), st.text(), st.sampled_from(["1", "0", "30"])),
       answer=st.binary(max_size=300), body=st.one_of(st.text(), st.just("\ud800")),
       name=st.sampled_from(["messagemedia", "twilio", "webhook"]))  # the ones that answer over HTTP
def test_any_answer_has_an_outcome_by_its_status(status, retry, answer, body, name):
    # Any status, Retry-After and body from the far end: send never raises, and the
    # status class decides the outcome (2xx accepted, 429 not sent, 5xx but 503 maybe sent).
    headers = [(b"retry-after", retry.encode())] if retry is not None else []

    async def send():
        transport = httpx.MockTransport(lambda request: httpx.Response(status, headers=headers, content=answer))
        async with httpx.AsyncClient(transport=transport) as client:
            credentials = Credentials(api_key="k", api_secret="s", sender_number="+14155550100", url="http://p.test")
            return await PROVIDERS[name].send(client, credentials, outbound(STATUS_URL, body=body))

    result = asyncio.run(send())
    if body == "\ud800":
        assert (result.outcome, result.error_code) == (SendOutcome.REJECTED, "UNSENDABLE")
        return
    expected = {2: SendOutcome.ACCEPTED, 3: SendOutcome.REJECTED, 4: SendOutcome.REJECTED, 5: SendOutcome.MAYBE_SENT}
    if status in (408, 429) or (status == 503 and result.retry_after is not None):
        assert result.outcome is SendOutcome.NOT_SENT
    else:
        assert result.outcome is expected[status // 100]
    assert (result.error_message is None) == (result.outcome is SendOutcome.ACCEPTED)


ANY_JSON = st.recursive(st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats() | st.text(),
                        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=10)
FIELDS = st.sampled_from(["id", "messageId", "status", "errorCode", "errorMessage", "optedOut", "from", "to", "body",
                          "receivedAt"])
VALUES = st.one_of(ANY_JSON, st.sampled_from(["sent", "delivered", "failed", "2026-11-25T14:00:00Z", "42"]))
CREDENTIALS = Credentials(api_key="", api_secret="s", sender_number="+14155550100", url="http://bridge.test")


@given(fields=st.dictionaries(st.one_of(FIELDS, st.text()), VALUES), raw=st.one_of(st.none(), st.binary()),
       header=st.text())
def test_any_body_parses_or_is_a_callback_error(fields, raw, header):
    body = raw if raw is not None else orjson.dumps(fields)
    request = CallbackRequest(STATUS_URL, {"x-signature": header}, body)
    assert isinstance(WEBHOOK.verify(CREDENTIALS, request, 7), bool)
    assert isinstance(WEBHOOK.is_inbound(request), bool)
    for parse in (WEBHOOK.parse_status, WEBHOOK.parse_inbound):
        try:
            parse(request)
        except CallbackError as error:
            assert error.message
