"""The `teaminbox` console script, run for real in a subprocess against a SQLite file."""
from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from server.app import create_app
from server.settings import Settings
from tests.support.documents import operation
from tests.support.http import data, gql
from tests.support.ports import free_port
from tests.support.webhook import AccountRef, inbound_message, post_inbound

TEAMINBOX = shutil.which("teaminbox", path=str(Path(sys.executable).parent)) or shutil.which("teaminbox")
STARTUP_TIMEOUT = 60.0
LOGIN_LINE = re.compile(r"^\s+(\S+@\S+) / (\S+) / (ADMIN|AGENT|ANALYST)\s*$", re.MULTILINE)


@pytest.fixture
def database_file(tmp_path) -> Path:
    return tmp_path / "cli.db"


def cli_env(database_file: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEAMINBOX_")}
    env["TEAMINBOX_DATABASE_URL"] = f"sqlite://{database_file}"
    env["TEAMINBOX_BROADCAST_URL"] = "memory://"
    env.update(settings)
    return env


def teaminbox(database_file: Path, *args: str, **settings: str) -> subprocess.CompletedProcess:
    assert TEAMINBOX, "the `teaminbox` console script is not installed (pip install -e .)"
    return subprocess.run(
        [TEAMINBOX, *args], env=cli_env(database_file, **settings), cwd=database_file.parent,
        capture_output=True, text=True, timeout=120,
    )


def create_account(database_file: Path, *, email="a@b.co", plan="TEAM", password="longpassword", name="X"):
    return teaminbox(database_file, "create-account", "--name", name, "--plan", plan,
                     "--admin-email", email, "--admin-password", password)


def tables(database_file: Path) -> set[str]:
    with sqlite3.connect(database_file) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def count_rows(database_file: Path, table: str) -> int:
    with sqlite3.connect(database_file) as db:
        return db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]


def test_migrate_creates_the_schema_and_is_idempotent(database_file):
    # when
    first = teaminbox(database_file, "migrate")
    second = teaminbox(database_file, "migrate")

    # then
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert {"account", "user", "session", "contact", "conversation", "message", "assignment_event",
            "status_event", "notification", "event"} <= tables(database_file)
    assert count_rows(database_file, "account") == 0


async def test_create_account_prints_one_json_object_and_its_admin_can_log_in(database_file):
    # given
    assert teaminbox(database_file, "migrate").returncode == 0

    # when
    result = create_account(database_file, name="Acme Plumbing", email="Boss@Acme.example")

    # then: stdout is exactly one JSON object
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert isinstance(created, dict)
    assert set(created) == {"accountId", "adminId", "webhookSecret"}
    assert result.stdout.strip().count("\n") == 0
    assert len(created["webhookSecret"]) >= 32

    # and the admin logs in through the app, which accepts webhooks signed with the secret
    app = create_app(replace(Settings(), database_url=f"sqlite://{database_file}", broadcast_url="memory://"))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://cli.test") as client:
            login = data(await gql(client, operation("Login"),
                                   {"email": "boss@acme.example", "password": "longpassword"}))["login"]
            assert login["userErrors"] == []
            viewer = data(await gql(client, operation("Viewer"), token=login["token"]))["viewer"]
            account = AccountRef(int(created["accountId"]), created["webhookSecret"])
            delivered = await post_inbound(client, account, inbound_message("+14155550123", "hi", "m1"))
    assert viewer["user"]["id"] == created["adminId"]
    assert viewer["user"]["role"] == "ADMIN"
    assert viewer["account"]["id"] == created["accountId"]
    assert viewer["account"]["name"] == "Acme Plumbing"
    assert viewer["account"]["plan"] == "TEAM"
    assert delivered.status_code == 200, delivered.text


def test_create_account_migrates_a_fresh_sqlite_database_itself(database_file):
    # when
    result = create_account(database_file, plan="STARTER")

    # then
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["accountId"]
    assert count_rows(database_file, "account") == 1


@pytest.mark.parametrize("plan", ["GOLD", "team", ""])
def test_create_account_with_an_invalid_plan_fails(database_file, plan):
    # given
    assert teaminbox(database_file, "migrate").returncode == 0

    # when
    result = create_account(database_file, plan=plan)

    # then
    assert result.returncode != 0
    assert "plan" in result.stderr
    assert result.stdout == ""
    assert count_rows(database_file, "account") == 0


@pytest.mark.parametrize("overrides, field", [
    ({"password": "short"}, "password"),
    ({"email": "not-an-email"}, "email"),
    ({"name": "   "}, "name"),
])
def test_create_account_with_invalid_input_fails_and_stores_nothing(database_file, overrides, field):
    # given
    assert teaminbox(database_file, "migrate").returncode == 0

    # when
    result = create_account(database_file, **overrides)

    # then
    assert result.returncode == 1
    assert result.stdout == ""
    assert json.loads(result.stderr)["field"] == field
    assert count_rows(database_file, "account") == 0
    assert count_rows(database_file, "user") == 0


def test_create_account_with_a_taken_admin_email_fails_and_leaves_no_orphan_account(database_file):
    # given
    assert create_account(database_file, email="a@b.co").returncode == 0

    # when
    again = create_account(database_file, email="A@B.co", name="Y")

    # then
    assert again.returncode == 1
    assert json.loads(again.stderr)["error"] == "ALREADY_EXISTS"
    assert count_rows(database_file, "account") == 1
    assert count_rows(database_file, "user") == 1


@contextmanager
def running_demo(database_file: Path):
    """`teaminbox serve --demo` on a free port; yields (base_url, stdout text) once /healthz
    answers, and stops the process afterwards."""
    assert TEAMINBOX, "the `teaminbox` console script is not installed (pip install -e .)"
    port = free_port()
    out_path, err_path = database_file.with_suffix(".out"), database_file.with_suffix(".err")
    with open(out_path, "w") as out, open(err_path, "w") as err:
        process = subprocess.Popen(
            [TEAMINBOX, "serve", "--demo", "--port", str(port)],
            env=cli_env(database_file), cwd=database_file.parent, stdout=out, stderr=err,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"teaminbox serve exited with {process.returncode}:\n{err_path.read_text()}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"teaminbox serve did not answer within {STARTUP_TIMEOUT}s:\n{err_path.read_text()}")
            time.sleep(0.1)
        yield base, out_path.read_text()
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def test_serve_demo_prints_the_url_and_logins_that_work_over_http(database_file):
    with running_demo(database_file) as (base, printed):
        # then: the GraphQL URL and the logins are printed
        assert f"{base}/graphql" in printed
        logins = LOGIN_LINE.findall(printed)
        assert {role for _, _, role in logins} == {"ADMIN", "AGENT", "ANALYST"}

        # when: each printed login is used over real HTTP
        answers = {}
        for email, password, role in logins:
            login = httpx.post(f"{base}/graphql", timeout=10, json={
                "query": operation("Login"), "variables": {"email": email, "password": password}}).json()
            token = login["data"]["login"]["token"]
            inbox = httpx.post(f"{base}/graphql", timeout=10, headers={"authorization": f"Bearer {token}"}, json={
                "query": operation("InboxPage"), "variables": {}}).json()
            answers[email] = (login, role, inbox)

    # then
    for email, (login, role, inbox) in answers.items():
        assert login["data"]["login"]["userErrors"] == [], email
        assert login["data"]["login"]["user"]["role"] == role
        assert not inbox.get("errors"), inbox
        assert len(inbox["data"]["inbox"]["edges"]) > 0


def test_serve_demo_twice_seeds_the_demo_account_once(database_file):
    # given
    with running_demo(database_file) as (_, first):
        pass

    # when
    with running_demo(database_file) as (_, second):
        pass

    # then
    assert LOGIN_LINE.findall(first) == LOGIN_LINE.findall(second)
    assert count_rows(database_file, "account") == 1
    assert count_rows(database_file, "user") == len(LOGIN_LINE.findall(first))


SECRET_KEY = "a test key of at least sixteen characters"
PUBLIC_URL = "https://inbox.example.com"
SENDER = "+14155550100"
ERROR_LINE = re.compile(r"^teaminbox: error: (?P<reason>[^\n]+)\n$")
MESSAGING_CHANNEL = """query MessagingChannel {
  viewer { id account { id messagingChannel { provider senderNumber configured inboundUrl statusUrl } } }
}"""
AUDIT_LOG = """query AuditLog {
  auditLog(first: 10) { edges { node { action actor { id } before { provider } after { provider } } } }
}"""
CREDENTIALS = {
    "twilio": ("--api-key", "AC0123456789abcdef", "--api-secret", "twilio-auth-token-0123"),
    "messagemedia": ("--api-key", "mm-api-key-0123", "--api-secret", "mm-api-secret-0123"),
    "webhook": ("--api-secret", "bridge-signing-secret-0123", "--url", "https://bridge.example/send"),
    "simulated": (),
}
SECRETS = ("twilio-auth-token-0123", "mm-api-secret-0123", "bridge-signing-secret-0123")


def set_channel(database_file: Path, account: str, provider: str, *options: str, **settings: str):
    return teaminbox(database_file, "set-channel", "--account", account, "--provider", provider,
                     "--sender", SENDER, *options, **settings)


def channel_rows(database_file: Path) -> list[tuple]:
    with sqlite3.connect(database_file) as db:
        return db.execute("SELECT * FROM messaging_channel").fetchall()


@pytest.mark.parametrize("provider", CREDENTIALS)
async def test_set_channel_prints_the_channel_the_server_shows_its_admin_and_never_a_secret(database_file, provider):
    # given
    account_id = json.loads(create_account(database_file).stdout)["accountId"]

    # when
    result = set_channel(database_file, account_id, provider, *CREDENTIALS[provider],
                         TEAMINBOX_SECRET_KEY=SECRET_KEY, TEAMINBOX_PUBLIC_URL=PUBLIC_URL)

    # then: stdout is exactly one JSON object, the URLs under the public URL
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert result.stdout.strip().count("\n") == 0
    assert printed["provider"] == provider.upper()
    assert printed["senderNumber"] == SENDER
    assert printed["configured"] is True
    assert printed["inboundUrl"].startswith(f"{PUBLIC_URL}/webhooks/{provider}/{account_id}/inbound")
    assert printed["statusUrl"].startswith(f"{PUBLIC_URL}/webhooks/{provider}/{account_id}/status")
    # and the secrets are neither printed nor stored in clear
    stored = repr(channel_rows(database_file))
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr
        assert secret not in stored

    # and the server, with the same key, shows its admin the same channel, set by nobody (the command line)
    settings = replace(Settings(), database_url=f"sqlite://{database_file}", broadcast_url="memory://",
                       secret_keys=(SECRET_KEY,), public_url=PUBLIC_URL, delivery_worker=False)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://cli.test") as client:
            login = data(await gql(client, operation("Login"), {"email": "a@b.co", "password": "longpassword"}))
            token = login["login"]["token"]
            shown = data(await gql(client, MESSAGING_CHANNEL, token=token))["viewer"]["account"]["messagingChannel"]
            audit = [edge["node"] for edge in data(await gql(client, AUDIT_LOG, token=token))["auditLog"]["edges"]]
    assert shown == printed
    assert [entry for entry in audit if entry["action"] == "CHANNEL_CHANGED"] == [
        {"action": "CHANNEL_CHANGED", "actor": None, "before": None, "after": {"provider": provider.upper()}}]


def test_set_channel_again_replaces_the_channel(database_file):
    # given
    account_id = json.loads(create_account(database_file).stdout)["accountId"]
    first = set_channel(database_file, account_id, "twilio", *CREDENTIALS["twilio"], TEAMINBOX_SECRET_KEY=SECRET_KEY)
    assert first.returncode == 0, first.stderr

    # when
    second = set_channel(database_file, account_id, "simulated")

    # then: one channel, the second; each change audited with no member as its actor
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["provider"] == "SIMULATED"
    assert len(channel_rows(database_file)) == 1
    with sqlite3.connect(database_file) as db:
        changes = db.execute("SELECT actor_id, before, after FROM audit_entry WHERE action = 'CHANNEL_CHANGED'"
                             " ORDER BY id").fetchall()
    assert [(actor, before and json.loads(before), json.loads(after)) for actor, before, after in changes] == [
        (None, None, {"provider": "TWILIO"}), (None, {"provider": "TWILIO"}, {"provider": "SIMULATED"})]


@pytest.mark.parametrize("account, provider, options, settings, reason", [
    ("99", "twilio", CREDENTIALS["twilio"], {}, "--account: there is no account '99'"),
    ("abc", "simulated", (), {}, "--account: there is no account 'abc'"),
    ("1", "twilio", ("--sender", "555", *CREDENTIALS["twilio"]), {},
     "--sender: '555' is not a phone number with a country code (E.164)"),
    ("1", "twilio", ("--api-key", "AC0123456789abcdef"), {},
     "--api-key: Give the provider's API key and secret (Twilio: Account SID and auth token)"),
    ("1", "messagemedia", ("--api-secret", "mm-api-secret-0123"), {},
     "--api-key: Give the provider's API key and secret (Twilio: Account SID and auth token)"),
    ("1", "webhook", ("--api-secret", "bridge-signing-secret-0123"), {},
     "--url: A webhook channel needs its URL and a signing secret (--api-secret)"),
    ("1", "webhook", ("--url", "https://bridge.example/send"), {},
     "--url: A webhook channel needs its URL and a signing secret (--api-secret)"),
    ("1", "webhook", ("--api-secret", "bridge-signing-secret-0123", "--url", "ftp://bridge.example/send"), {},
     "--url: url must be an http(s) URL of at most 500 characters"),
    ("1", "twilio", ("--url", "bridge.example", *CREDENTIALS["twilio"]), {},
     "--url: url must be an http(s) URL of at most 500 characters"),
    ("1", "twilio", CREDENTIALS["twilio"], {"TEAMINBOX_SECRET_KEY": ""},
     "TEAMINBOX_SECRET_KEY is not set: credentials are stored sealed with it; set it (at least 16 characters, "
     "the same value as the serving instances) and run this again"),
])
def test_set_channel_refused_is_one_line_naming_the_option_and_stores_nothing(
    database_file, account, provider, options, settings, reason
):
    # given
    assert create_account(database_file).returncode == 0

    # when (a --sender among the options comes later than set_channel's own, and wins)
    result = set_channel(database_file, account, provider, *options,
                         **{"TEAMINBOX_SECRET_KEY": SECRET_KEY, **settings})

    # then
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stderr
    match = ERROR_LINE.match(result.stderr)
    assert match, f"not one `teaminbox: error:` line: {result.stderr!r}"
    assert match["reason"] == reason
    assert result.stdout == ""
    assert not any(secret in result.stderr for secret in SECRETS)
    assert channel_rows(database_file) == []
    assert count_rows(database_file, "audit_entry") == 1  # the admin's creation, nothing since
