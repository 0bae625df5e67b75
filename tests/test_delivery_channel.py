"""setMessagingChannel and account.messagingChannel: only an admin connects a provider or
sees the channel; the credentials are stored sealed with TEAMINBOX_SECRET_KEY and never
come back in any answer; without a key the server refuses to store them, saying why; the
channel shows the callback URLs to paste into the provider's console."""
from __future__ import annotations

import orjson
import pytest
from tortoise import Tortoise

from models import MessagingChannel
from resolvers import sealing
from tests.support.delivery import MESSAGING_CHANNEL, SET_MESSAGING_CHANNEL, delivery_server
from tests.support.documents import operation
from tests.support.http import data, error_codes, gql, mutate
from tests.support.teams import make_team

AUDIT_LOG = """
query AuditLog { auditLog(first: 20) { totalCount edges { node { id action before { plan role email }
  after { plan role email } actor { id } } } } }"""
API_KEY = "AC" + "5f" * 16  # what a Twilio Account SID looks like
API_SECRET = "tok-" + "9c" * 14
CHANNELS = {
    "TWILIO": {"provider": "TWILIO", "senderNumber": "+14155550100", "apiKey": API_KEY, "apiSecret": API_SECRET,
               "url": "http://127.0.0.1:9/"},
    "MESSAGEMEDIA": {"provider": "MESSAGEMEDIA", "senderNumber": "+61491570157", "apiKey": API_KEY,
                     "apiSecret": API_SECRET},
    "WEBHOOK": {"provider": "WEBHOOK", "senderNumber": "+14155550100", "apiSecret": API_SECRET,
                "url": "https://bridge.example.com/send"},
}


@pytest.mark.parametrize("provider", sorted(CHANNELS))
async def test_an_admin_connects_a_provider_and_sees_the_urls_never_the_credentials(settings, provider):
    async with delivery_server(settings) as server, server.http() as http:
        # given
        team = await make_team(http)
        account = team.account.id

        # when
        payload = await mutate(http, SET_MESSAGING_CHANNEL, {"input": CHANNELS[provider]}, team.admin.token)

        # then: the channel, with the URLs the provider is to call on this server
        channel = payload["account"]["messagingChannel"]
        name = provider.lower()
        assert (channel["provider"], channel["senderNumber"], channel["configured"]) == (
            provider, CHANNELS[provider]["senderNumber"], True)
        base = f"{server.http_url}/webhooks/{name}/{account}"
        assert channel["inboundUrl"].startswith(f"{base}/inbound")
        assert channel["statusUrl"].startswith(f"{base}/status")
        if provider == "MESSAGEMEDIA":  # its callbacks carry no signature: the URLs carry a token
            assert "?token=" in channel["inboundUrl"] and "?token=" in channel["statusUrl"]
        else:
            assert (channel["inboundUrl"], channel["statusUrl"]) == (f"{base}/inbound", f"{base}/status")
        shown = data(await gql(http, MESSAGING_CHANNEL, token=team.admin.token))["viewer"]["account"]
        assert shown["messagingChannel"] == channel

        # and: no answer anywhere holds a credential
        answers = [payload, shown, data(await gql(http, operation("AccountSettings"), token=team.admin.token)),
                   data(await gql(http, AUDIT_LOG, token=team.admin.token))]
        audit = answers[-1]["auditLog"]["edges"]
        assert [edge["node"]["action"] for edge in audit][:1] == ["CHANNEL_CHANGED"]
        for answer in answers:
            text = orjson.dumps(answer).decode()
            assert API_SECRET not in text and API_KEY not in text, text

        # and: the row holds them sealed, and only the server's key opens them
        rows = await Tortoise.get_connection("default").execute_query_dict(
            "SELECT * FROM messaging_channel WHERE account_id = " + str(account))
        assert len(rows) == 1
        stored = " ".join(str(value) for value in rows[0].values())
        assert API_SECRET not in stored and API_KEY not in stored
        row = await MessagingChannel.get(account_id=account)
        assert sealing.open_sealed(row.api_secret_sealed) == API_SECRET
        if provider != "WEBHOOK":
            assert sealing.open_sealed(row.api_key_sealed) == API_KEY


async def test_only_an_admin_connects_or_sees_the_channel(settings):
    async with delivery_server(settings) as server, server.http() as http:
        # given
        team = await make_team(http)
        bob = team["bob"]
        await mutate(http, SET_MESSAGING_CHANNEL, {"input": CHANNELS["TWILIO"]}, team.admin.token)

        # when: an agent tries to change it, and to see it
        changed = data(await gql(http, SET_MESSAGING_CHANNEL, {"input": CHANNELS["WEBHOOK"]},
                                 token=bob.token))["setMessagingChannel"]
        seen = await gql(http, MESSAGING_CHANNEL, token=bob.token)

        # then: refused both ways; the channel is as the admin left it
        assert changed["account"] is None and [e["code"] for e in changed["userErrors"]] == ["FORBIDDEN"]
        assert error_codes(seen) == ["FORBIDDEN"]
        assert seen["data"]["viewer"]["account"]["webhookSecret"] is None
        assert API_SECRET not in orjson.dumps(seen).decode()
        row = await MessagingChannel.get(account_id=team.account.id)
        assert row.provider.value == "TWILIO"


async def test_without_a_secret_key_the_server_refuses_to_store_credentials(settings):
    async with delivery_server(settings, secret_keys=()) as server, server.http() as http:
        # given: a server whose operator set no TEAMINBOX_SECRET_KEY
        team = await make_team(http)

        # when
        payload = data(await gql(http, SET_MESSAGING_CHANNEL, {"input": CHANNELS["TWILIO"]},
                                 token=team.admin.token))["setMessagingChannel"]

        # then: refused, saying what the operator must do; nothing stored
        assert payload["account"] is None
        [error] = payload["userErrors"]
        assert error["code"] == "VALIDATION" and "TEAMINBOX_SECRET_KEY" in error["message"]
        assert await MessagingChannel.filter(account_id=team.account.id).count() == 0
        shown = data(await gql(http, MESSAGING_CHANNEL, token=team.admin.token))["viewer"]["account"]
        assert shown["messagingChannel"] is None
