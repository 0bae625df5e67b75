"""Two real `teaminbox serve` instances, each running its delivery worker, on one
PostgreSQL (jobs claimed with FOR UPDATE SKIP LOCKED) and Redis: replies written through
either instance are each sent exactly once, and a conversation's replies reach the
customer in the order they were written."""
from __future__ import annotations

import asyncio
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.delivery import SECRET_KEY, SET_MESSAGING_CHANNEL, channel_input, eventually, reply
from tests.support.deployment.environment import skip_reason
from tests.support.deployment.instances import deployment
from tests.support.deployment.store import fetch_all
from tests.support.deployment.teams import create_team
from tests.support.http import mutate
from tests.support.providers.twilio_emulator import TwilioEmulator
from tests.support.webhook import inbound

pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")

CONVERSATIONS = 5
REPLIES_PER_CONVERSATION = 10


async def test_two_instances_send_each_reply_exactly_once_and_in_order_per_conversation(tmp_path):
    twilio = TwilioEmulator()
    async with twilio.running(), \
            deployment(tmp_path, 2, delivery_worker=1, secret_key=SECRET_KEY) as cluster, \
            cluster[0].http() as one, cluster[1].http() as two:
        # given: an account on Twilio, five customers
        team = await create_team(one, cluster.env)
        await mutate(one, SET_MESSAGING_CHANNEL, {"input": channel_input("TWILIO", twilio.credentials())},
                     team.admin.token)
        phones = [f"+1415555{1000 + i}" for i in range(CONVERSATIONS)]
        conversations = [(await inbound(one, team.account, phone, "Hi"))["conversationId"] for phone in phones]

        # when: 50 replies, each conversation's one after another, through both instances in turn
        async def replies_to(index: int) -> list[tuple[str, str]]:
            written = []
            for n in range(REPLIES_PER_CONVERSATION):
                body = f"Reply {n} to customer {index}"
                stored = await reply((one, two)[n % 2], team["bob"].token, conversations[index], body)
                written.append((stored["id"], body))
            return written

        written = await asyncio.gather(*(replies_to(i) for i in range(CONVERSATIONS)))

        # then: every reply SENT, by one try
        total = CONVERSATIONS * REPLIES_PER_CONVERSATION
        await eventually(
            lambda: fetch_all(cluster.database_url, "SELECT count(*) AS sent FROM message "
                              "WHERE account_id = $1 AND delivery_status = 'SENT'", team.account.id),
            lambda rows: rows[0]["sent"] == total, "every reply to be SENT", timeout=30)
        jobs = await fetch_all(cluster.database_url, "SELECT state, attempts FROM delivery_job "
                               "WHERE account_id = $1", team.account.id)
        assert Counter((job["state"], job["attempts"]) for job in jobs) == {("DONE", 1): total}

        # and: Twilio received each exactly once, and each customer's in the order written
        assert len(twilio.requests) == total
        ids = [parse_qs(urlsplit(r.form()["StatusCallback"]).query)["messageId"][0] for r in twilio.requests]
        assert sorted(ids, key=int) == sorted((m for replies in written for m, _ in replies), key=int)
        for phone, replies in zip(phones, written, strict=True):
            received = [r.form()["Body"] for r in twilio.requests if r.form()["To"] == phone]
            assert received == [body for _, body in replies]
        assert len(twilio.messages) == total
