"""POST /webhooks/{provider}/{accountId}/status and .../inbound: a provider's own callbacks
(delivery reports and customers' messages, in its format, signed its way).

Verification and parsing are the provider module's (providers/); what a report or a
message does is the resolvers' (delivery.apply_report, inbound.receive_inbound: the one
inbound path). Answers:
- 200 handled, also for a repeat (providers retry until they get a 2xx);
- 401 for an unknown account, an account on another provider, or a bad signature, alike;
- 404 for a report naming no message of the account (the provider stops asking);
- 413 too large (server/limits.py), 422 malformed, with the field."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from models import Account, MessagingChannel
from providers import PROVIDERS
from providers.base import CallbackError, CallbackRequest, Provider
from resolvers import channels, delivery
from resolvers.errors import DomainError
from resolvers.ids import parse_id
from resolvers.inbound import parse_inbound, receive_inbound

Endpoint = Callable[[Request], Awaitable[Response]]

# Twilio reads a messaging webhook's answer as TwiML: an empty one sends no auto-reply.
# The others ignore the body of a 2xx.
_HANDLED = Response('<?xml version="1.0" encoding="UTF-8"?><Response></Response>', media_type="text/xml")


def _unauthorised() -> JSONResponse:
    return JSONResponse({"error": "invalid signature"}, status_code=401)


def _malformed(field: str | None, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "field": field}, status_code=422)


def provider_callbacks(public_url: str) -> tuple[Endpoint, Endpoint]:
    """The two endpoints, for the app's routes (the public URL is what the provider
    called, which signatures such as Twilio's cover)."""

    async def status(request: Request) -> Response:
        return await _callback(request, public_url, inbound_route=False)

    async def inbound(request: Request) -> Response:
        return await _callback(request, public_url, inbound_route=True)

    return status, inbound


async def _callback(request: Request, public_url: str, *, inbound_route: bool) -> Response:
    provider = PROVIDERS.get(request.path_params["provider"])
    found = await _channel(request.path_params["account_id"]) if provider is not None else None
    if provider is None or found is None or channels.provider_of(found[1].provider).name != provider.name:
        return _unauthorised()
    account, channel = found
    callback = CallbackRequest(
        url=_called_url(request, public_url), headers={k.lower(): v for k, v in request.headers.items()},
        body=await request.body(),
    )
    try:
        credentials = channels.credentials(channel)
    except ValueError:
        return _unauthorised()  # the server cannot open the account's secret: nothing verifies
    if not provider.verify(credentials, callback, account.id):
        return _unauthorised()
    try:
        if inbound_route or provider.is_inbound(callback):
            return await _inbound(account, channel, provider, callback)
        report = provider.parse_status(callback)
    except CallbackError as error:
        return _malformed(error.field, error.message)
    if not await delivery.apply_report(account.id, report):
        return JSONResponse({"error": "no such message"}, status_code=404)
    return _HANDLED


async def _inbound(
    account: Account, channel: MessagingChannel, provider: Provider, callback: CallbackRequest
) -> Response:
    message = provider.parse_inbound(callback)
    try:
        # Checked as every inbound message is (the JSON webhook's rules), then stored the same way.
        stored = parse_inbound({
            "id": message.provider_message_id, "from": message.from_number,
            "to": message.to_number or channel.sender_number, "body": message.body,
            "receivedAt": message.received_at.isoformat() if message.received_at else None,
        })
        await receive_inbound(account, stored)
    except DomainError as error:
        return _malformed(error.field, error.message)
    return _HANDLED


async def _channel(raw_id: str) -> tuple[Account, MessagingChannel] | None:
    try:
        account_id = parse_id(raw_id, "Account")
    except DomainError:
        return None
    channel = await MessagingChannel.get_or_none(account_id=account_id).select_related("account")
    return None if channel is None else (channel.account, channel)


def _called_url(request: Request, public_url: str) -> str:
    """The URL as the provider called it: our public base, then the path and query string
    exactly as they arrived (a signature covers them byte for byte)."""
    raw_path: bytes = request.scope.get("raw_path") or request.scope["path"].encode()
    query: bytes = request.scope.get("query_string", b"")
    url = public_url.rstrip("/") + raw_path.decode("latin-1")
    return url + ("?" + query.decode("latin-1") if query else "")
