"""The system under test: a real `teaminbox serve` (SQLite temp file + memory://, or a fresh
PostgreSQL database + a private Redis) with TEAMINBOX_SECRET_KEY set, an account made with
`teaminbox create-account`, agents, a WEBHOOK channel pointed at the emulator (the admin's
setMessagingChannel) and many conversations opened by the signed inbound webhook."""
from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.common.api import COMPANY_PHONE, Team, conversation_of, create_team, graphql, post_inbound
from bench.common.process import cli
from bench.common.servers import Server, start_instance, teaminbox_env
from bench.delivery.peer import Emulator

SET_CHANNEL = """
mutation SetChannel($input: MessagingChannelInput!) {
  setMessagingChannel(input: $input) {
    account { messagingChannel { provider senderNumber configured statusUrl } }
    userErrors { code message field }
  }
}
"""


@dataclass
class Target:
    name: str
    env: dict[str, str]
    database_url: str
    workdir: Path
    server: Server
    team: Team | None = None
    conversations: list[str] = field(default_factory=list)

    @property
    def tokens(self) -> list[str]:
        assert self.team is not None
        return [member.token for member in self.team.members]

    async def restart(self, *, worker: bool) -> None:
        """The same database on a new process, with or without its delivery worker."""
        await self.server.stop()
        self.env["TEAMINBOX_DELIVERY_WORKER"] = "1" if worker else "0"
        self.server = await start_instance(self.name, self.env, self.workdir)


def customer_phone(j: int) -> str:
    return f"+1415556{j:04d}"


def target_env(database_url: str, broadcast_url: str | None) -> dict[str, str]:
    env = teaminbox_env(database_url, broadcast_url)
    env["TEAMINBOX_SECRET_KEY"] = secrets.token_urlsafe(32)
    env["TEAMINBOX_DELIVERY_WORKER"] = "1"
    # Callbacks go to the address `serve` listens on (its default); none is posted here anyway.
    env.pop("TEAMINBOX_PUBLIC_URL", None)
    return env


async def start_target(workdir: Path, database_url: str, broadcast_url: str | None, emulator: Emulator,
                       conversations: int, agents: int = 3) -> Target:
    env = target_env(database_url, broadcast_url)
    if not database_url.startswith("sqlite"):
        await cli(env, "migrate")
    target = Target("teaminbox", env, database_url, workdir, await start_instance("teaminbox", env, workdir))
    try:
        async with httpx.AsyncClient(base_url=target.server.http_url, timeout=30) as client:
            target.team = team = await create_team(env, client, agents)
            data = await graphql(client, SET_CHANNEL, {"input": {
                "provider": "WEBHOOK", "senderNumber": COMPANY_PHONE, "apiSecret": emulator.secret,
                "url": emulator.url}}, team.admin.token)
            if data["setMessagingChannel"]["userErrors"]:
                raise RuntimeError(f"setMessagingChannel: {data['setMessagingChannel']['userErrors']}")
            target.conversations = await _open_conversations(client, team, conversations)
    except BaseException:
        await target.server.stop()
        raise
    return target


async def _open_conversations(client: httpx.AsyncClient, team: Team, count: int) -> list[str]:
    """One customer message per phone, 8 at a time: `count` conversations."""
    gate = asyncio.Semaphore(8)

    async def one(j: int) -> str:
        async with gate:
            answer = await post_inbound(client, team.account_id, team.webhook_secret, f"open-{team.tag}-{j}",
                                        "Hi, where is my order?", customer_phone(j))
            return conversation_of(answer)

    opened = await asyncio.gather(*(one(j) for j in range(count)))
    if len(set(opened)) != count:
        raise RuntimeError(f"{len(set(opened))} conversations opened, not {count}")
    return list(opened)
