"""Creating accounts (CLI) and changing their plan and webhook secret (admins), each
change audited in its own transaction."""
from __future__ import annotations

import secrets

from tortoise.transactions import in_transaction

from models import Account, AuditAction, Plan, Role, User
from resolvers import audit
from resolvers.auth import announce_access_changed
from resolvers.errors import storable_text, validation
from resolvers.members import new_user
from resolvers.viewer import Viewer


def new_webhook_secret() -> str:
    return secrets.token_hex(32)


async def create_account(
    name: str, plan: Plan, admin_email: str, admin_password: str, admin_name: str | None = None
) -> tuple[Account, User]:
    name = storable_text(name, "name").strip()
    if not name or len(name) > 200:
        raise validation("Account name must be 1 to 200 characters", "name")
    async with in_transaction():
        account = await Account.create(name=name, plan=plan, webhook_secret=new_webhook_secret())
        admin = await new_user(
            account, email=admin_email, name=admin_name or admin_email.split("@")[0],
            role=Role.ADMIN, password=admin_password,
        )
    return account, admin


async def set_plan(viewer: Viewer, plan: Plan) -> Account:
    """Change the plan; audited (and announced) only if it changed."""
    viewer.require_admin()
    async with in_transaction() as connection:
        # Locked so that the audited 'before' is the plan this change replaced. NO KEY:
        # rows referencing the account (events, messages) are not held up by it.
        account = await (
            Account.filter(id=viewer.account_id).select_for_update(no_key=True).using_db(connection).get()
        )
        previous = Plan(account.plan)
        if previous != plan:
            await Account.filter(id=account.id).using_db(connection).update(plan=plan)
            await audit.record(
                connection, account_id=account.id, action=AuditAction.PLAN_CHANGED, actor_id=viewer.user_id,
                before={"plan": previous.value}, after={"plan": plan.value},
            )
            account.plan = plan
    if previous != plan:
        await announce_access_changed(viewer.account_id)
    return account


async def rotate_webhook_secret(viewer: Viewer) -> Account:
    """Replace the secret; the audit entry says that it changed and by whom, never to what."""
    viewer.require_admin()
    async with in_transaction() as connection:
        await Account.filter(id=viewer.account_id).using_db(connection).update(webhook_secret=new_webhook_secret())
        await audit.record(
            connection, account_id=viewer.account_id, action=AuditAction.WEBHOOK_SECRET_ROTATED,
            actor_id=viewer.user_id,
        )
    return await Account.get(id=viewer.account_id)
