"""Customers' opt-out: a STOP ends replies until START (the carriers' standard keywords,
which Twilio and MessageMedia also act on themselves), and so does a provider reporting
that the recipient opted out."""
from __future__ import annotations

from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from models import Contact

OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"})
OPT_IN_WORDS = frozenset({"START", "YES", "UNSTOP", "OPTIN"})


def keyword_of(body: str) -> str:
    return body.strip().strip(".!").upper()


async def apply_keyword(connection: BaseDBAsyncClient, contact_id: int, body: str, now: datetime) -> None:
    """A customer's message that is just STOP (or a synonym) opts them out, START back in."""
    keyword = keyword_of(body)
    if keyword in OPT_OUT_WORDS:
        await opt_out(connection, contact_id, now)
    elif keyword in OPT_IN_WORDS:
        await Contact.filter(id=contact_id, opted_out=True).using_db(connection).update(
            opted_out=False, opted_out_at=None
        )


async def opt_out(connection: BaseDBAsyncClient, contact_id: int, now: datetime) -> None:
    await Contact.filter(id=contact_id, opted_out=False).using_db(connection).update(opted_out=True, opted_out_at=now)
