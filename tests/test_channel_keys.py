"""Sealed credentials and the server's key: a channel whose credentials the current
TEAMINBOX_SECRET_KEY cannot open is shown as not configured (connect it again), not as an
error; a key list with the old key second still opens them (rotation)."""
from __future__ import annotations

from models import ChannelProvider, MessagingChannel
from resolvers import channels, sealing
from resolvers.channels import ChannelInput
from tests.support.teams import make_team

OLD, NEW = "the-old-key-0123456789", "the-new-key-0123456789"
MESSAGEMEDIA = ChannelInput(ChannelProvider.MESSAGEMEDIA, "+14155550100", api_key="key", api_secret="secret-value")


async def test_a_key_that_cannot_open_the_credentials_shows_the_channel_unconfigured(client):
    team = await make_team(client)
    sealing.configure((OLD,))
    try:
        await channels.connect_channel(team.account.id, MESSAGEMEDIA)
        channel = await MessagingChannel.get(account_id=team.account.id)
        assert channels.view_of(channel, "https://x.test").configured
        assert "secret-value" not in channel.api_secret_sealed

        # when: the key is replaced outright
        sealing.configure((NEW,))
        view = channels.view_of(channel, "https://x.test")

        # then: shown, not configured, its URLs without the token the old secret made
        assert not view.configured
        assert view.status_url == f"https://x.test/webhooks/messagemedia/{team.account.id}/status"

        # and: with the old key kept second (a rotation), it opens again
        sealing.configure((NEW, OLD))
        assert channels.view_of(channel, "https://x.test").configured
        assert channels.credentials(channel).api_secret == "secret-value"
    finally:
        sealing.configure(())
