"""The `teaminbox` command: serve, migrate, create-account."""
from __future__ import annotations

import argparse
import asyncio
import json
import sys

from models import Plan
from resolvers.errors import DomainError
from server.database import connected, migrate
from server.settings import Settings

# How long a stopping instance lets requests in flight finish (process managers usually
# SIGKILL after 10-30 s).
SHUTDOWN_GRACE_SECONDS = 10


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="teaminbox", description="GraphQL realtime server for a team inbox.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--demo", action="store_true", help="create a demo account and print its logins")
    commands.add_parser("migrate", help="apply database migrations")
    create = commands.add_parser("create-account", help="create an account and its first admin")
    create.add_argument("--name", required=True)
    create.add_argument("--plan", required=True, choices=[p.value for p in Plan])
    create.add_argument("--admin-email", required=True)
    create.add_argument("--admin-password", required=True)
    create.add_argument("--admin-name", default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings.from_env()
    settings.apply_password_hashing()
    if args.command == "migrate":
        asyncio.run(migrate(settings.database_url))
        print(f"migrated {settings.database_url}")
        return 0
    if args.command == "create-account":
        return asyncio.run(_create_account(settings, args))
    return _serve(settings, args)


async def _create_account(settings: Settings, args: argparse.Namespace) -> int:
    from resolvers.accounts import create_account

    if settings.database_url.startswith("sqlite"):
        await migrate(settings.database_url)
    async with connected(settings.database_url):
        try:
            account, admin = await create_account(
                args.name, Plan(args.plan), args.admin_email, args.admin_password, args.admin_name
            )
        except DomainError as error:
            failure = {"error": error.code.value, "message": error.message, "field": error.field}
            print(json.dumps(failure), file=sys.stderr)
            return 1
    print(json.dumps({"accountId": str(account.id), "adminId": str(admin.id), "webhookSecret": account.webhook_secret}))
    return 0


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from server.app import create_app

    # The embedded default migrates itself; shared production databases are migrated
    # once, explicitly (`teaminbox migrate`), not by every instance racing at start-up.
    if settings.database_url.startswith("sqlite"):
        asyncio.run(migrate(settings.database_url))
    if args.demo:
        asyncio.run(_print_demo(settings, args))
    uvicorn.run(
        create_app(settings), host=args.host, port=args.port, log_level="info",
        ws="websockets-sansio", ws_max_size=settings.max_body_bytes,  # one WebSocket frame obeys the body limit
        # On SIGTERM uvicorn closes every WebSocket (1012, clients reconnect elsewhere) and
        # waits for requests in flight; past this grace it cancels them, so a stuck request
        # or a hung dependency cannot keep a stopping instance alive.
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )
    return 0


async def _print_demo(settings: Settings, args: argparse.Namespace) -> None:
    from server.demo import seed_demo

    async with connected(settings.database_url):
        account, logins = await seed_demo()
    base = f"http://{args.host}:{args.port}"
    print(f"\nteaminbox demo — account '{account.name}' (id {account.id}, plan {account.plan.value})")
    print(f"  GraphQL + GraphiQL: {base}/graphql   (WebSocket: ws://{args.host}:{args.port}/graphql)")
    print(f"  Inbound webhook:    {base}/webhooks/inbound/{account.id}   secret: {account.webhook_secret}")
    print("  Logins (email / password / role):")
    for email, password, role in logins:
        print(f"    {email} / {password} / {role.value}")
    print(flush=True)


if __name__ == "__main__":
    sys.exit(main())
