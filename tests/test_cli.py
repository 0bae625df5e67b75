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


def cli_env(database_file: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEAMINBOX_")}
    env["TEAMINBOX_DATABASE_URL"] = f"sqlite://{database_file}"
    env["TEAMINBOX_BROADCAST_URL"] = "memory://"
    return env


def teaminbox(database_file: Path, *args: str) -> subprocess.CompletedProcess:
    assert TEAMINBOX, "the `teaminbox` console script is not installed (pip install -e .)"
    return subprocess.run(
        [TEAMINBOX, *args], env=cli_env(database_file), cwd=database_file.parent,
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
