"""The account's messaging channel: which provider sends its replies (admins set it; the
credentials are never shown again)."""
from __future__ import annotations

import strawberry

import models
from resolvers.channels import ChannelInput, ChannelView

strawberry.enum(
    models.ChannelProvider,
    description="TWILIO, MESSAGEMEDIA, WEBHOOK (our signed JSON, for any other provider behind a small bridge), or "
    "SIMULATED (nothing leaves the server: replies are marked sent, then delivered; one whose text contains "
    '"fail" fails).',
)
ChannelProvider = models.ChannelProvider


@strawberry.type(description="How the account's replies reach customers, and what to paste in the provider's console.")
class MessagingChannel:
    provider: ChannelProvider = strawberry.field(description="Who carries the account's SMS.")
    sender_number: str = strawberry.field(description="The number replies are sent from (E.164).")
    configured: bool = strawberry.field(
        description="Whether credentials are stored and this server's key opens them (always true for SIMULATED); "
        "false after a change of TEAMINBOX_SECRET_KEY that dropped the old key: connect the channel again."
    )
    inbound_url: str = strawberry.field(description="Where the provider posts customers' messages.")
    status_url: str = strawberry.field(description="Where the provider posts delivery reports.")

    @classmethod
    def from_view(cls, view: ChannelView) -> MessagingChannel:
        return cls(provider=view.provider, sender_number=view.sender_number, configured=view.configured,
                   inbound_url=view.inbound_url, status_url=view.status_url)


@strawberry.input(description="Connect the account to a provider.")
class MessagingChannelInput:
    provider: ChannelProvider = strawberry.field(description="Who is to carry the account's SMS.")
    sender_number: str = strawberry.field(description="The number to send from, in E.164 (+14155550100).")
    api_key: str | None = strawberry.field(
        default=None, description="Twilio: the Account SID. MessageMedia: the API key. WEBHOOK: not needed."
    )
    api_secret: str | None = strawberry.field(
        default=None, description="Twilio: the auth token. MessageMedia: the API secret. WEBHOOK: the signing secret."
    )
    url: str | None = strawberry.field(
        default=None, description="WEBHOOK: the endpoint replies are posted to. Twilio, MessageMedia: an optional API "
        "base URL (a regional endpoint)."
    )

    def to_domain(self) -> ChannelInput:
        return ChannelInput(provider=self.provider, sender_number=self.sender_number, api_key=self.api_key,
                            api_secret=self.api_secret, url=self.url)
