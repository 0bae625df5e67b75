"""providers.twilio against the Twilio emulator over real HTTP: what Twilio receives,
what each answer means for sending again, and its signed callbacks."""
from __future__ import annotations

import base64
from dataclasses import replace
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from providers import PROVIDERS
from providers.base import CallbackError, CallbackRequest, Credentials, ReportedState, SendOutcome, StatusReport
from providers.twilio import Twilio, signature
from tests.support.providers.emulator import Hang, Reject, Reset, ServerError, TooManyRequests, Unavailable
from tests.support.providers.sending import CUSTOMER, TIMEOUT, nothing_listening, outbound

TWILIO = Twilio(TIMEOUT)
STATUS_URL = "https://inbox.example.com/webhooks/twilio/7/status"
INBOUND_URL = "https://inbox.example.com/webhooks/twilio/7/inbound"
# The auth token of Twilio's own test vectors (twilio-python tests/unit/test_request_validator.py).
VECTOR_CREDENTIALS = Credentials(api_key="AC123", api_secret="12345", sender_number="+14155550100")


def test_the_registry_serves_twilio_with_default_timeouts():
    assert isinstance(PROVIDERS["twilio"], Twilio)
    assert PROVIDERS["twilio"].name == "twilio"


async def test_an_accepted_message_is_the_documented_form_with_basic_auth(http, twilio):
    # when
    result = await TWILIO.send(http, twilio.credentials(), outbound(STATUS_URL))

    # then
    assert result.outcome is SendOutcome.ACCEPTED
    assert result.provider_message_id in twilio.messages
    [request] = twilio.requests
    assert request.path == f"/2010-04-01/Accounts/{twilio.account_sid}/Messages.json"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    expected_auth = base64.b64encode(f"{twilio.account_sid}:{twilio.auth_token}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected_auth}"
    assert request.form() == {
        "To": CUSTOMER, "From": twilio.sender_number, "Body": "Your order shipped today.",
        "StatusCallback": f"{STATUS_URL}?messageId=42",
    }


async def test_our_message_id_joins_a_status_url_that_has_a_query(http, twilio):
    await TWILIO.send(http, twilio.credentials(), outbound(STATUS_URL + "?region=eu", message_id=7))

    assert twilio.requests[0].form()["StatusCallback"] == f"{STATUS_URL}?region=eu&messageId=7"


async def test_wrong_credentials_are_refused_with_twilios_401(http, twilio):
    result = await TWILIO.send(http, twilio.credentials(api_secret="not-the-token"), outbound(STATUS_URL))

    assert result.outcome is SendOutcome.REJECTED
    assert result.error_code == "20003"
    assert "credentials" in (result.error_message or "") and "Authenticate" in (result.error_message or "")
    assert twilio.messages == {}


@pytest.mark.parametrize(("behaviour", "outcome", "retry_after", "code"), [
    (TooManyRequests("2"), SendOutcome.NOT_SENT, 2.0, "20429"),
    (TooManyRequests(None), SendOutcome.NOT_SENT, None, "20429"),
    (Unavailable("3"), SendOutcome.NOT_SENT, 3.0, "20503"),
    (Unavailable(None), SendOutcome.MAYBE_SENT, None, "20503"),
    (ServerError(500), SendOutcome.MAYBE_SENT, None, "20500"),
])
async def test_overload_answers(http, twilio, behaviour, outcome, retry_after, code):
    twilio.script(behaviour)

    result = await TWILIO.send(http, twilio.credentials(), outbound(STATUS_URL))

    assert (result.outcome, result.retry_after, result.error_code) == (outcome, retry_after, code)
    assert result.provider_message_id is None
    assert len(twilio.requests) == 1


async def test_a_permanent_error_carries_twilios_code_and_message(http, twilio):
    twilio.script(Reject(21211, "The 'To' number +15005550001 is not a valid phone number."))

    result = await TWILIO.send(http, twilio.credentials(), outbound(STATUS_URL))

    assert result.outcome is SendOutcome.REJECTED
    assert result.error_code == "21211"
    assert "+15005550001 is not a valid phone number" in (result.error_message or "")
    assert "https://www.twilio.com/docs/errors/21211" in (result.error_message or "")
    assert result.opted_out is False


async def test_21610_means_the_recipient_opted_out(http, twilio):
    twilio.script(Reject(21610))

    result = await TWILIO.send(http, twilio.credentials(), outbound(STATUS_URL))

    assert (result.outcome, result.error_code, result.opted_out) == (SendOutcome.REJECTED, "21610", True)


async def test_a_request_twilio_finds_invalid_is_rejected_with_its_code(http, twilio):
    result = await TWILIO.send(http, twilio.credentials(), outbound(STATUS_URL, to_number="12345"))

    assert (result.outcome, result.error_code) == (SendOutcome.REJECTED, "21211")


@pytest.mark.parametrize(("behaviour", "reason"), [(Hang(), "ReadTimeout"), (Reset(), "ReadError")])
async def test_no_answer_after_the_request_was_sent_is_maybe_sent(http, twilio, behaviour, reason):
    twilio.script(behaviour)

    result = await TWILIO.send(http, twilio.credentials(), outbound(STATUS_URL))

    assert result.outcome is SendOutcome.MAYBE_SENT
    assert reason in (result.error_message or "")
    assert len(twilio.requests) == 1  # it did arrive: sending again could send twice


async def test_no_connection_is_not_sent(http, twilio):
    result = await TWILIO.send(http, twilio.credentials(url=nothing_listening()), outbound(STATUS_URL))

    assert result.outcome is SendOutcome.NOT_SENT
    assert twilio.requests == []


async def test_the_base_url_override_keeps_its_path_prefix(http, twilio):
    # A regional or proxied base with a trailing slash still reaches the documented path.
    result = await TWILIO.send(http, twilio.credentials(url=twilio.url + "/"), outbound(STATUS_URL))

    assert result.outcome is SendOutcome.ACCEPTED
    assert twilio.requests[0].path.startswith("/2010-04-01/Accounts/")


# Callbacks


async def sent_message(http, twilio, status_url=STATUS_URL) -> str:
    result = await TWILIO.send(http, twilio.credentials(), outbound(status_url))
    assert result.provider_message_id is not None
    return result.provider_message_id


async def test_a_status_callback_is_verified_and_parsed(http, twilio):
    # given
    sid = await sent_message(http, twilio)
    callback = twilio.status_callback(sid, "delivered").request()

    # then
    assert TWILIO.verify(twilio.credentials(), callback, 7)
    assert not TWILIO.is_inbound(callback)
    assert TWILIO.parse_status(callback) == StatusReport(sid, 42, ReportedState.DELIVERED)


@pytest.mark.parametrize(("status", "state"), [
    ("accepted", None), ("scheduled", None), ("queued", None), ("sending", None),
    ("sent", ReportedState.SENT), ("partially_delivered", ReportedState.SENT),
    ("delivered", ReportedState.DELIVERED), ("read", ReportedState.DELIVERED),
    ("undelivered", ReportedState.FAILED), ("failed", ReportedState.FAILED), ("canceled", ReportedState.FAILED),
    ("receiving", None), ("received", None), ("a-status-twilio-adds-later", None),
])
async def test_every_documented_status_maps(http, twilio, status, state):
    sid = await sent_message(http, twilio)

    report = TWILIO.parse_status(twilio.status_callback(sid, status).request())

    assert report.state is state
    assert (report.provider_message_id, report.our_message_id) == (sid, 42)


@pytest.mark.parametrize(("status", "code", "readable", "opted_out"), [
    ("undelivered", "30003", "Unreachable destination handset", False),
    ("undelivered", "30006", "Landline or unreachable carrier", False),
    ("failed", "30007", "Message filtered by the carrier", False),
    ("failed", "21610", "The recipient has opted out (replied STOP)", True),
    ("failed", "39999", "Twilio error 39999", False),
])
async def test_a_failure_carries_its_code_and_a_readable_reason(http, twilio, status, code, readable, opted_out):
    sid = await sent_message(http, twilio)

    report = TWILIO.parse_status(twilio.status_callback(sid, status, code).request())

    assert (report.state, report.error_code, report.opted_out) == (ReportedState.FAILED, code, opted_out)
    assert (report.error_message or "").startswith(readable)


async def test_a_failure_without_a_code_still_says_what_happened(http, twilio):
    sid = await sent_message(http, twilio)

    report = TWILIO.parse_status(twilio.status_callback(sid, "failed").request())

    assert (report.state, report.error_code, report.error_message) == (
        ReportedState.FAILED, None, "Twilio reported the message failed")


async def test_forged_or_altered_callbacks_are_refused(http, twilio):
    sid = await sent_message(http, twilio)
    good = twilio.status_callback(sid, "delivered").request()
    credentials = twilio.credentials()
    assert TWILIO.verify(credentials, good, 7)

    tampered_body = replace(good, body=good.body.replace(b"delivered", b"failed"))
    other_message = replace(good, url=good.url.replace("messageId=42", "messageId=43"))
    other_account = replace(good, url=good.url.replace("/twilio/7/", "/twilio/8/"))
    unsigned = replace(good, headers={k: v for k, v in good.headers.items() if k != "x-twilio-signature"})
    wrong_key = replace(good, headers={**good.headers, "x-twilio-signature": signature("other", good.url, [])})
    garbage = replace(good, headers={**good.headers, "x-twilio-signature": "\u00e9\ud800"})
    for request in (tampered_body, other_message, other_account, unsigned, wrong_key, garbage):
        assert not TWILIO.verify(credentials, request, 7)
    # A channel without an auth token verifies nothing: anyone could sign with an empty key.
    empty = replace(good, headers={**good.headers, "x-twilio-signature": signature("", good.url, [])})
    assert not TWILIO.verify(twilio.credentials(api_secret=""), empty, 7)


def test_signatures_match_twilios_own_test_vectors():
    # twilio-python tests/unit/test_request_validator.py (token "12345").
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {"CallSid": "CA1234567890ABCDE", "Digits": "1234", "From": "+14158675309", "To": "+18005551212",
              "Caller": "+14158675309"}
    assert signature("12345", url, params.items()) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    repeated = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234"), ("Digits", "1234")]
    assert signature("12345", url, repeated) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="

    credentials = VECTOR_CREDENTIALS
    body = urlencode(params).encode()
    # The URL as configured in Twilio may carry a port or not: both forms are tried.
    for called in (url, url.replace(".com", ".com:443"), url.replace(".com", ".com:1234")):
        request = CallbackRequest(called, {"x-twilio-signature": "RSOYDt4T1cUTdK1PDd93/VVr8B8="}, body)
        assert TWILIO.verify(credentials, request, 1)
    http_with_port = url.replace(".com", ".com:1234").replace("https", "http")
    request = CallbackRequest(http_with_port, {"x-twilio-signature": "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="}, body)
    assert TWILIO.verify(credentials, request, 1)


async def test_an_inbound_message_is_verified_and_parsed(twilio):
    callback = twilio.inbound(INBOUND_URL, CUSTOMER, "Where is my order?").request()

    assert TWILIO.verify(twilio.credentials(), callback, 7)
    assert TWILIO.is_inbound(callback)
    message = TWILIO.parse_inbound(callback)
    assert message.provider_message_id.startswith("SM")
    assert (message.from_number, message.to_number, message.body, message.received_at) == (
        CUSTOMER, twilio.sender_number, "Where is my order?", None)


def test_malformed_callbacks_name_the_field():
    def request(**params: str) -> CallbackRequest:
        return CallbackRequest(STATUS_URL, {}, urlencode(params).encode())

    with pytest.raises(CallbackError) as missing_status:
        TWILIO.parse_status(request(MessageSid="SM1"))
    assert missing_status.value.field == "MessageStatus"
    with pytest.raises(CallbackError) as bad_id:
        TWILIO.parse_status(replace(request(MessageStatus="sent"), url=STATUS_URL + "?messageId=x"))
    assert bad_id.value.field == "messageId"
    with pytest.raises(CallbackError) as no_from:
        TWILIO.parse_inbound(request(MessageSid="SM1", Body="hi", To="+14155550100"))
    assert no_from.value.field == "From"
    with pytest.raises(CallbackError) as not_utf8:
        TWILIO.parse_inbound(CallbackRequest(INBOUND_URL, {}, b"Body=%FF"))
    assert not_utf8.value.field is None


FIELDS = st.sampled_from(["MessageSid", "SmsSid", "MessageStatus", "SmsStatus", "ErrorCode", "ErrorMessage",
                          "From", "To", "Body", "SmsMessageSid", "AccountSid"])


@given(params=st.lists(st.tuples(st.one_of(FIELDS, st.text()), st.text())),
       raw=st.one_of(st.none(), st.binary()), query=st.text())
def test_any_body_parses_or_is_a_callback_error(params, raw, query):
    body = raw if raw is not None else urlencode(params).encode()
    request = CallbackRequest(f"{STATUS_URL}?{query}", {"x-twilio-signature": query}, body)
    assert isinstance(TWILIO.verify(VECTOR_CREDENTIALS, request, 1), bool)
    assert isinstance(TWILIO.is_inbound(request), bool)
    for parse in (TWILIO.parse_status, TWILIO.parse_inbound):
        try:
            parse(request)
        except CallbackError as error:
            assert error.message
