"""Who is asking, in one statement: the compiled operations' version of
resolvers.auth.authenticate (the same rule, resolvers.auth.session_usable, and the same
note of the session's use)."""
from __future__ import annotations

from dataclasses import dataclass

from models import PLAN_CAPABILITIES, Capability, Plan
from resolvers.auth import note_use, session_usable, token_hash
from resolvers.outbox import utcnow
from schema.compiled.sql import Reader, as_datetime


@dataclass(frozen=True)
class CompiledViewer:
    user_id: int
    account_id: int
    plan: Plan

    @property
    def has_team_inbox(self) -> bool:
        return Capability.TEAM_INBOX in PLAN_CAPABILITIES[self.plan]


async def compiled_viewer(reader: Reader, token: str | None) -> CompiledViewer | None:
    if not token:
        return None
    statement = reader.statement()
    rows = await reader.rows(
        statement,
        'SELECT s.id, s.revoked_at, s.expires_at, s.created_at, s.last_seen_at,'
        ' u.id AS user_id, u.active, u.account_id, a.plan'
        ' FROM session s JOIN "user" u ON u.id = s.user_id JOIN account a ON a.id = u.account_id'
        f" WHERE s.token_hash = {statement.param(token_hash(token))}"
    )
    if not rows:
        return None
    row = rows[0]
    now, last_used_at = utcnow(), as_datetime(row["last_seen_at"] or row["created_at"])
    if not session_usable(
        revoked_at=row["revoked_at"], expires_at=as_datetime(row["expires_at"]), last_used_at=last_used_at,
        active=bool(row["active"]), now=now,
    ):
        return None
    await note_use(row["id"], last_used_at, now)
    return CompiledViewer(user_id=row["user_id"], account_id=row["account_id"], plan=Plan(row["plan"]))
