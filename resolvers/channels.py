"""An account's messaging channel: which provider carries its SMS, from which number, with
which credentials (sealed at rest: resolvers/sealing.py; never shown again)."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from tortoise.transactions import in_transaction

from models import Account, AuditAction, ChannelProvider, MessagingChannel
from providers import PROVIDERS
from providers.base import Credentials, Provider
from resolvers import audit, sealing
from resolvers.errors import not_found, storable_text, validation
from resolvers.inbound import normalise_phone
from resolvers.viewer import Viewer

MAX_CREDENTIAL_LENGTH = 500


@dataclass(frozen=True)
class ChannelInput:
    provider: ChannelProvider
    sender_number: str
    api_key: str | None = None
    api_secret: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class ChannelView:
    """What an admin sees of the channel: enough to paste into the provider's console."""

    provider: ChannelProvider
    sender_number: str
    configured: bool
    inbound_url: str
    status_url: str


def provider_of(channel_provider: ChannelProvider) -> Provider:
    return PROVIDERS[channel_provider.value.lower()]


def provider_and_credentials(channel: MessagingChannel) -> tuple[Provider, Credentials]:
    return provider_of(channel.provider), credentials(channel)


async def set_channel(viewer: Viewer, given: ChannelInput) -> MessagingChannel:
    """Connect the viewer's account to a provider (ADMIN)."""
    viewer.require_admin()
    return await connect_channel(viewer.account_id, given, actor_id=viewer.user_id)


async def connect_channel(account_id: int, given: ChannelInput, actor_id: int | None = None) -> MessagingChannel:
    """Connect an account to a provider, for an admin (set_channel) or the operator's
    command line (`actor_id` None, as the audit log shows it). Credentials are required
    for a real provider and sealed; the audit log records the change without them."""
    if not await Account.exists(id=account_id):
        raise not_found(f"Account {account_id}", "accountId")
    sender = normalise_phone(storable_text(given.sender_number, "senderNumber"), "senderNumber")
    key = _credential(given.api_key, "apiKey")
    secret = _credential(given.api_secret, "apiSecret")
    url = _url(given.url)
    if given.provider in (ChannelProvider.TWILIO, ChannelProvider.MESSAGEMEDIA) and not (key and secret):
        raise validation("Give the provider's API key and secret (Twilio: Account SID and auth token)", "apiKey")
    if given.provider == ChannelProvider.WEBHOOK and not (secret and url):
        raise validation("A webhook channel needs its URL and a signing secret (apiSecret)", "url")
    sealed_key, sealed_secret = (sealing.seal(key), sealing.seal(secret)) if (key or secret) else ("", "")
    async with in_transaction() as connection:
        existing = await MessagingChannel.filter(account_id=account_id).using_db(connection).first()
        before = None if existing is None else {"provider": existing.provider.value}
        channel = existing or MessagingChannel(account_id=account_id)
        channel.provider, channel.sender_number, channel.url = given.provider, sender, url
        channel.api_key_sealed, channel.api_secret_sealed = sealed_key, sealed_secret
        await channel.save(using_db=connection)
        await audit.record(
            connection, account_id=account_id, action=AuditAction.CHANNEL_CHANGED, actor_id=actor_id,
            before=before, after={"provider": given.provider.value},
        )
    return channel


async def channel_of(viewer: Viewer, public_url: str) -> ChannelView | None:
    viewer.require_admin()
    channel = await MessagingChannel.get_or_none(account_id=viewer.account_id)
    return None if channel is None else view_of(channel, public_url)


def view_of(channel: MessagingChannel, public_url: str) -> ChannelView:
    try:
        inbound, status = callback_url(channel, public_url, "inbound"), callback_url(channel, public_url, "status")
        readable = True
    except ValueError:  # the server's key no longer opens the credentials: connect the channel again
        inbound, status = _bare_url(channel, public_url, "inbound"), _bare_url(channel, public_url, "status")
        readable = False
    return ChannelView(
        provider=channel.provider, sender_number=channel.sender_number,
        configured=channel.provider == ChannelProvider.SIMULATED or (bool(channel.api_secret_sealed) and readable),
        inbound_url=inbound, status_url=status,
    )


def _bare_url(channel: MessagingChannel, public_url: str, kind: str) -> str:
    return f"{public_url.rstrip('/')}/webhooks/{provider_of(channel.provider).name}/{channel.account_id}/{kind}"


def callback_url(channel: MessagingChannel, public_url: str, kind: str) -> str:
    """Where the provider posts (`kind`: inbound or status), with the provider's token
    where it needs one."""
    provider = provider_of(channel.provider)
    return _bare_url(channel, public_url, kind) + provider.callback_query(credentials(channel), channel.account_id)


def credentials(channel: MessagingChannel) -> Credentials:
    """The channel's credentials, opened (ValueError when the server's key cannot)."""
    return Credentials(
        api_key=sealing.open_sealed(channel.api_key_sealed), api_secret=sealing.open_sealed(channel.api_secret_sealed),
        sender_number=channel.sender_number, url=channel.url,
    )


def _credential(value: str | None, field: str) -> str:
    if value is None:
        return ""
    value = storable_text(value, field).strip()
    if len(value) > MAX_CREDENTIAL_LENGTH:
        raise validation(f"{field} must be at most {MAX_CREDENTIAL_LENGTH} characters", field)
    return value


def _url(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = storable_text(value, "url").strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(value) > 500:
        raise validation("url must be an http(s) URL of at most 500 characters", "url")
    return value
