"""Creating accounts (CLI) and changing their plan (admins)."""
from __future__ import annotations

import secrets

from tortoise.transactions import in_transaction

from models import Account, Plan, Role, User
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
    viewer.require_admin()
    changed = await Account.filter(id=viewer.account_id).exclude(plan=plan).update(plan=plan)
    if changed:
        await announce_access_changed(viewer.account_id)
    return await Account.get(id=viewer.account_id)


async def rotate_webhook_secret(viewer: Viewer) -> Account:
    viewer.require_admin()
    await Account.filter(id=viewer.account_id).update(webhook_secret=new_webhook_secret())
    return await Account.get(id=viewer.account_id)
