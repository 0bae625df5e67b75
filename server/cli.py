"""The `teaminbox` command: serve, migrate, create-account, set-channel.

Whatever stops a command before it does its work (a setting that does not parse, a
database it cannot use, a port in use) is one line on stderr, `teaminbox: error: ...`,
and exit status 1: never a traceback, never a hang."""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import errno
import json
import os
import re
import socket
import sys
from dataclasses import dataclass

import uvicorn

from models import Account, ChannelProvider, Plan, Role
from resolvers.errors import DomainError, ErrorCode
from resolvers.sealing import MIN_KEY_LENGTH, SealingNotConfigured
from server.database import (
    DatabaseUnusable,
    check_url,
    connected,
    failures_explained,
    is_sqlite,
    migrate,
    require_schema,
    serving_url,
    shown_url,
)
from server.settings import Settings

# How long a stopping instance lets requests in flight finish (process managers usually
# SIGKILL after 10-30 s).
SHUTDOWN_GRACE_SECONDS = 10
PLANS = [plan.value for plan in Plan]
PROVIDER_NAMES = [provider.value.lower() for provider in ChannelProvider]
# The resolvers name the GraphQL input's fields; a person at the command line typed these.
CHANNEL_OPTIONS = {"accountId": "--account", "senderNumber": "--sender", "apiKey": "--api-key",
                   "apiSecret": "--api-secret", "url": "--url"}
CREATE_ACCOUNT_HINT = "./dev create-account --name NAME --plan PLAN --admin-email EMAIL --admin-password PASSWORD"


class CannotStart(Exception):
    """A command cannot run as configured; the message is one line for a person."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="teaminbox", description="GraphQL realtime server for a team inbox.",
        epilog="Settings are TEAMINBOX_* environment variables (README, Settings); "
               "TEAMINBOX_DATABASE_URL picks the database (default: sqlite://teaminbox.db).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the server (SQLite databases are migrated first)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on; 0 picks one (default: %(default)s)")
    serve.add_argument("--demo", action="store_true", help="create a demo account once and print its logins")
    commands.add_parser("migrate", help="apply database migrations (needed once per PostgreSQL database and upgrade)")
    create = commands.add_parser("create-account", help="create an account and its first admin; prints one JSON object")
    create.add_argument("--name", required=True, help="the account's (business's) name")
    create.add_argument("--plan", required=True, choices=PLANS, help="the account's plan: %(choices)s")
    create.add_argument("--admin-email", required=True, help="the first admin's login email")
    create.add_argument("--admin-password", required=True, help="the first admin's password")
    create.add_argument("--admin-name", default=None, help="the first admin's display name (default: from the email)")
    channel = commands.add_parser(
        "set-channel", help="connect an account to an SMS provider, or change it; prints one JSON object"
    )
    channel.add_argument("--account", required=True, help="the account's id (create-account's accountId)")
    channel.add_argument("--provider", required=True, choices=PROVIDER_NAMES, type=str.lower,
                         help="who carries the account's SMS: %(choices)s")
    channel.add_argument("--sender", required=True, help="the number replies are sent from, in E.164 (+14155550100)")
    channel.add_argument("--api-key", default=None,
                         help="twilio: the Account SID; messagemedia: the API key; webhook: not needed")
    channel.add_argument("--api-secret", default=None,
                         help="twilio: the auth token; messagemedia: the API secret; webhook: the signing secret "
                              "(credentials need TEAMINBOX_SECRET_KEY, the serving instances' key)")
    channel.add_argument("--url", default=None,
                         help="webhook: the bridge's endpoint; twilio, messagemedia: an optional API base URL")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = _settings()
        check_url(settings.database_url)
        settings.apply_password_hashing()
        if args.command == "migrate":
            with failures_explained(settings.database_url):
                asyncio.run(migrate(settings.database_url))
            print(f"migrated {shown_url(settings.database_url)}")
            return 0
        if args.command == "create-account":
            return asyncio.run(_create_account(settings, args))
        if args.command == "set-channel":
            return asyncio.run(_set_channel(settings, args))
        return _serve(settings, args)
    except (CannotStart, DatabaseUnusable) as error:
        print(f"teaminbox: error: {error}", file=sys.stderr)
        return 1


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ValueError as error:
        raise CannotStart(_unreadable_setting(error)) from error


def _unreadable_setting(error: ValueError) -> str:
    """Name the variable that failed: int()'s and float()'s messages only quote the value.
    Every field is read from TEAMINBOX_<FIELD NAME>; re-reading the numeric ones finds it."""
    if "TEAMINBOX_" in str(error):
        return str(error)
    kinds = {"int": (int, "an integer"), "float": (float, "a number")}
    for field in dataclasses.fields(Settings):
        name = f"TEAMINBOX_{field.name.upper()}"
        raw = os.environ.get(name)
        if raw is None or str(field.type) not in kinds:
            continue
        parse, expected = kinds[str(field.type)]
        try:
            parse(raw)
        except ValueError:
            return f"{name}={raw!r} is not {expected}"
    return f"a TEAMINBOX_ setting cannot be read: {error}"


async def _create_account(settings: Settings, args: argparse.Namespace) -> int:
    from resolvers.accounts import create_account

    with failures_explained(settings.database_url):
        if is_sqlite(settings.database_url):
            await migrate(settings.database_url)
        async with connected(settings.database_url):
            await require_schema()
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


async def _set_channel(settings: Settings, args: argparse.Namespace) -> int:
    """The operator connects an account (no member acts: the audit log's actor is the
    command line). The one implementation is the mutation's (resolvers.channels)."""
    from resolvers.channels import ChannelInput, connect_channel, view_of
    from resolvers.ids import parse_id

    settings.apply_sealing()
    given = ChannelInput(
        provider=ChannelProvider(args.provider.upper()), sender_number=args.sender,
        api_key=args.api_key, api_secret=args.api_secret, url=args.url,
    )
    with failures_explained(settings.database_url):
        if is_sqlite(settings.database_url):
            await migrate(settings.database_url)
        async with connected(settings.database_url):
            await require_schema()
            try:
                channel = await connect_channel(parse_id(args.account, "Account", "accountId"), given)
            except SealingNotConfigured as error:
                raise CannotStart(
                    "TEAMINBOX_SECRET_KEY is not set: credentials are stored sealed with it; set it (at least "
                    f"{MIN_KEY_LENGTH} characters, the same value as the serving instances) and run this again"
                ) from error
            except DomainError as error:
                raise CannotStart(_channel_refusal(args.account, error)) from error
            view = view_of(channel, settings.base_url())
    print(json.dumps({"provider": view.provider.value, "senderNumber": view.sender_number,
                      "configured": view.configured, "inboundUrl": view.inbound_url, "statusUrl": view.status_url}))
    if not settings.public_url and view.provider != ChannelProvider.SIMULATED:
        print(f"teaminbox: note: TEAMINBOX_PUBLIC_URL is not set, so these URLs assume {settings.base_url()}; "
              "a provider needs the address it reaches this deployment at", file=sys.stderr)
    return 0


def _channel_refusal(account: str, error: DomainError) -> str:
    """One line naming the option at fault, in the options' words."""
    if error.code == ErrorCode.NOT_FOUND:
        return f"--account: there is no account {account!r}"
    message = re.sub(r"\b(senderNumber|apiKey|apiSecret)\b", lambda m: CHANNEL_OPTIONS[m[1]], error.message)
    option = CHANNEL_OPTIONS.get(error.field or "")
    return f"{option}: {message}" if option else message


@dataclass(frozen=True)
class Introduction:
    """What the banner tells about the database: the demo account and its logins, or
    whether any account exists yet."""
    demo: Account | None = None
    logins: tuple[tuple[str, str, Role], ...] = ()
    has_accounts: bool = True


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from server.app import create_app

    # Bound first: a port in use fails before anything is migrated, seeded or printed.
    listener = _listen(args.host, args.port)
    try:
        introduction = asyncio.run(_prepare(settings, demo=args.demo))
        port = listener.getsockname()[1]
        # Providers call back the address this serves on, unless the operator says otherwise.
        served = dataclasses.replace(settings, public_url=settings.base_url(args.host, port))
        config = uvicorn.Config(
            create_app(served), host=args.host, port=port, log_level="info",
            ws="websockets-sansio", ws_max_size=settings.max_body_bytes,  # one WebSocket frame obeys the body limit
            # On SIGTERM uvicorn closes every WebSocket (1012, clients reconnect elsewhere) and
            # waits for requests in flight; past this grace it cancels them, so a stuck request
            # or a hung dependency cannot keep a stopping instance alive.
            timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
            # uvicorn would take the client's address from X-Forwarded-For of any loopback
            # peer; TEAMINBOX_TRUSTED_PROXIES decides that instead (server/client_address.py).
            proxy_headers=False,
        )
        server = _AnnouncingServer(config, _banner(args.host, config.port, introduction))
        try:
            server.run(sockets=[listener])
        except KeyboardInterrupt:  # uvicorn re-raises the Ctrl+C it handled, as uvicorn.run swallows it
            pass
    finally:
        listener.close()
    return 0 if server.started else 3  # 3: uvicorn's own status for a failed start-up


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a port in use is one clear line (uvicorn
    would run the app's start-up first, then log the error among its other lines)."""
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn's own sockets
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        if error.errno == errno.EADDRINUSE:
            in_use = f"port {port} on {host} is already in use: stop what listens there or choose another --port"
            raise CannotStart(in_use) from error
        raise CannotStart(f"cannot listen on {host} port {port}: {error.strerror or error}") from error
    return listener


async def _prepare(settings: Settings, *, demo: bool) -> Introduction:
    from server.demo import seed_demo

    with failures_explained(settings.database_url):
        # The embedded default migrates itself; shared production databases are migrated
        # once, explicitly (`teaminbox migrate`), not by every instance racing at start-up.
        if is_sqlite(settings.database_url):
            await migrate(settings.database_url)
        async with connected(serving_url(settings.database_url)):
            await require_schema()
            if demo:
                account, logins = await seed_demo()
                return Introduction(demo=account, logins=tuple(logins))
            return Introduction(has_accounts=await Account.exists())


class _AnnouncingServer(uvicorn.Server):
    """uvicorn's server, printing the banner once it listens (and never if it fails to
    start): whoever reads the URLs can use them."""

    def __init__(self, config: uvicorn.Config, banner: str) -> None:
        super().__init__(config)
        self._banner = banner

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and not self.should_exit:
            print(self._banner, flush=True)


def _banner(host: str, port: int, introduction: Introduction) -> str:
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    base = f"http://{authority}"
    lines = [f"\nteaminbox listening on {base} (Ctrl+C stops it)"]
    account = introduction.demo
    if account is not None:
        lines.append(f"teaminbox demo — account '{account.name}' (id {account.id}, plan {account.plan.value})")
    lines.append(f"  GraphQL + GraphiQL: {base}/graphql   (WebSocket: ws://{authority}/graphql)")
    if account is not None:
        lines.append(f"  Inbound webhook:    {base}/webhooks/inbound/{account.id}   secret: {account.webhook_secret}")
    else:
        lines.append(f"  Inbound webhook:    {base}/webhooks/inbound/<account id>   (secret: from create-account)")
    if introduction.logins:
        lines.append("  Logins (email / password / role):")
        lines.extend(f"    {email} / {password} / {role.value}" for email, password, role in introduction.logins)
    if not introduction.has_accounts:
        lines.append("  No account yet: nobody can log in. Create one (the server may keep running):")
        lines.append(f"    {CREATE_ACCOUNT_HINT}   (PLAN: {', '.join(PLANS)})")
        lines.append("  or start with `./dev serve --demo` for a demo account.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
