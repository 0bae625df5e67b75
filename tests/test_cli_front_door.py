"""Clear answers at the front door: the real `teaminbox` CLI, run in a subprocess, fails
at once with one line (`teaminbox: error: ...`) and exit status 1 when it cannot work as
configured, and `serve` prints its URLs only once they answer."""
from __future__ import annotations

import argparse
import asyncio
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from server.cli import build_parser
from tests.support.databases import create_database, drop_database
from tests.support.environment import REPO, TEST_DATABASE_URL, on_postgres
from tests.support.ports import free_port

TEAMINBOX = shutil.which("teaminbox", path=str(Path(sys.executable).parent)) or shutil.which("teaminbox")
# Generous: a hang fails the test after this instead of hanging the run; a healthy
# failure takes about a second.
COMMAND_TIMEOUT = 60.0
ERROR_LINE = re.compile(r"^teaminbox: error: (?P<reason>[^\n]+)\n$")
ACCOUNT_ARGS = ("--name", "X", "--plan", "TEAM", "--admin-email", "a@b.co", "--admin-password", "longpassword")
COMMANDS = {
    "serve": ("serve", "--demo", "--port", "0"),
    "migrate": ("migrate",),
    "create-account": ("create-account", *ACCOUNT_ARGS),
    "set-channel": ("set-channel", "--account", "1", "--provider", "simulated", "--sender", "+14155550100"),
}


def cli_env(database_url: str, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEAMINBOX_")}
    env.update(
        TEAMINBOX_DATABASE_URL=database_url, TEAMINBOX_BROADCAST_URL="memory://",
        # Cheap argon2 parameters (the demo and create-account hash passwords).
        TEAMINBOX_PASSWORD_HASH_TIME_COST="1", TEAMINBOX_PASSWORD_HASH_MEMORY_KIB="1024",
        TEAMINBOX_PASSWORD_HASH_PARALLELISM="1", PYTHONUNBUFFERED="1",
    )
    env.update(settings)
    return env


def teaminbox(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert TEAMINBOX, "the `teaminbox` console script is not installed (pip install -e .)"
    try:
        return subprocess.run(
            [TEAMINBOX, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=COMMAND_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`teaminbox {' '.join(args)}` hung for {COMMAND_TIMEOUT}s instead of failing")


def error_reason(result: subprocess.CompletedProcess[str]) -> str:
    """The one error line's reason; fails unless the command exited 1 with exactly that."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, (result.returncode, result.stderr)
    match = ERROR_LINE.match(result.stderr)
    assert match, f"not one `teaminbox: error:` line: {result.stderr!r}"
    return match["reason"]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("where, reason", [
    ("no-such-dir/x.db", r"the directory \S+/no-such-dir does not exist"),
    ("a-file/x.db", r"\S+/a-file is not a directory"),
    ("a-file", "file is not a database"),
])
def test_a_sqlite_file_that_cannot_be_created_or_opened_fails_at_once(tmp_path, command, where, reason):
    # given
    (tmp_path / "a-file").write_text("not a directory, not a database either " * 20)
    database = tmp_path / where

    # when
    result = teaminbox(cli_env(f"sqlite://{database}"), tmp_path, *COMMANDS[command])

    # then
    assert re.fullmatch(rf"cannot use the SQLite file {re.escape(str(database))}: {reason}", error_reason(result))
    assert result.stdout == ""


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write a read-only directory")
@pytest.mark.parametrize("command", COMMANDS)
def test_a_sqlite_file_in_a_read_only_directory_fails_at_once(tmp_path, command):
    # given
    directory = tmp_path / "read-only"
    directory.mkdir(mode=0o500)

    # when
    result = teaminbox(cli_env(f"sqlite://{directory}/x.db"), tmp_path, *COMMANDS[command])

    # then
    assert error_reason(result).endswith(f"the directory {directory} is not writable")


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("url, named", [
    ("mysql://user@127.0.0.1/teaminbox", "scheme 'mysql'"),
    ("postgress://postgres@127.0.0.1/teaminbox", "scheme 'postgress'"),
    ("teaminbox.db", "no scheme"),
    ("", "no scheme"),
])
def test_an_unknown_database_scheme_is_one_line_naming_the_accepted_ones(tmp_path, command, url, named):
    # when
    result = teaminbox(cli_env(url), tmp_path, *COMMANDS[command])

    # then
    assert error_reason(result) == (
        f"TEAMINBOX_DATABASE_URL has {named}: use sqlite://path/to/file.db or postgres://user:password@host:5432/database"
    )
    assert result.stdout == ""


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_a_postgres_nobody_listens_for_fails_at_once_without_showing_the_password(tmp_path, command, scheme):
    # given: a port nothing listens on
    port = free_port()

    # when
    result = teaminbox(cli_env(f"{scheme}://postgres:s3cret@127.0.0.1:{port}/teaminbox"), tmp_path, *COMMANDS[command])

    # then
    reason = error_reason(result)
    assert reason.startswith(f"cannot connect to the database at {scheme}://postgres:***@127.0.0.1:{port}/teaminbox: ")
    assert "s3cret" not in result.stderr + result.stdout


@pytest.mark.skipif(not on_postgres(), reason="needs TEAMINBOX_TEST_DATABASE_URL=postgres://...")
@pytest.mark.parametrize("command", ["serve", "create-account", "set-channel"])
def test_a_postgres_database_nobody_migrated_says_to_run_migrate(tmp_path, command):
    # given: an empty database
    url = asyncio.run(create_database(TEST_DATABASE_URL))
    try:
        # when
        result = teaminbox(cli_env(url), tmp_path, *COMMANDS[command])
    finally:
        asyncio.run(drop_database(url))

    # then
    reason = error_reason(result)
    assert reason.startswith("the database has no teaminbox tables (")
    assert reason.endswith("): run `teaminbox migrate` first")


@pytest.mark.parametrize("variable, value, expected", [
    ("TEAMINBOX_MAX_PAGE_SIZE", "abc", "an integer"),
    ("TEAMINBOX_TYPING_TTL_SECONDS", "soon", "a number"),
])
def test_a_setting_that_does_not_parse_is_one_line_naming_it(tmp_path, variable, value, expected):
    # when
    result = teaminbox(cli_env(f"sqlite://{tmp_path}/x.db", **{variable: value}), tmp_path, "migrate")

    # then
    assert error_reason(result) == f"{variable}={value!r} is not {expected}"
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize("value", ["localhost:5173", "https://app.example.com/inbox"])
def test_an_allowed_origin_that_is_not_an_origin_is_one_line_naming_it(tmp_path, value):
    # when
    result = teaminbox(cli_env(f"sqlite://{tmp_path}/x.db", TEAMINBOX_ALLOWED_ORIGINS=value), tmp_path, "serve")

    # then: refused before anything is migrated or served
    assert error_reason(result).startswith(f"TEAMINBOX_ALLOWED_ORIGINS: Invalid origin {value!r}")
    assert not (tmp_path / "x.db").exists()


def test_serve_on_a_port_in_use_is_one_line_and_prints_no_url(tmp_path):
    # given: something listens on the port
    database = tmp_path / "x.db"
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen()
        port = occupant.getsockname()[1]

        # when
        result = teaminbox(cli_env(f"sqlite://{database}"), tmp_path, "serve", "--demo", "--port", str(port))

    # then: it fails before printing a URL, or migrating and seeding anything
    assert error_reason(result) == (
        f"port {port} on 127.0.0.1 is already in use: stop what listens there or choose another --port"
    )
    assert result.stdout == ""
    assert "http://" not in result.stderr
    assert not database.exists()


@contextmanager
def serving(tmp_path: Path, *args: str) -> Iterator[tuple[subprocess.Popen[str], queue.Queue[str]]]:
    """`teaminbox serve ARGS` in the background; yields the process and its stdout lines
    as they come; stops it afterwards."""
    assert TEAMINBOX, "the `teaminbox` console script is not installed (pip install -e .)"
    process = subprocess.Popen(
        [TEAMINBOX, "serve", *args], env=cli_env(f"sqlite://{tmp_path}/x.db"), cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    stdout = process.stdout
    assert stdout is not None

    def forward() -> None:  # a thread: reading a pipe blocks, the test waits on the queue with a deadline
        for line in stdout:
            lines.put(line)

    threading.Thread(target=forward, daemon=True).start()
    try:
        yield process, lines
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def banner(process: subprocess.Popen[str], lines: queue.Queue[str]) -> str:
    """The banner, up to its closing blank line."""
    printed: list[str] = []
    deadline = time.monotonic() + COMMAND_TIMEOUT
    while not (printed and printed[-1] == "\n" and len(printed) > 2):
        try:
            printed.append(lines.get(timeout=max(0.0, deadline - time.monotonic())))
        except queue.Empty:
            pytest.fail(f"no banner within {COMMAND_TIMEOUT}s (exit status {process.poll()}): {''.join(printed)!r}")
    return "".join(printed)


@pytest.mark.parametrize("demo", [False, True], ids=["empty-database", "demo"])
def test_serve_prints_its_urls_once_they_answer(tmp_path, demo):
    port = free_port()
    with serving(tmp_path, "--port", str(port), *(["--demo"] if demo else [])) as (process, lines):
        # when
        printed = banner(process, lines)
        # then: the URL answers the moment it is printed (one request, no retry)
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)

    assert health.status_code == 200
    assert f"teaminbox listening on http://127.0.0.1:{port}" in printed
    assert f"GraphQL + GraphiQL: http://127.0.0.1:{port}/graphql" in printed
    assert f"WebSocket: ws://127.0.0.1:{port}/graphql" in printed
    assert f"http://127.0.0.1:{port}/webhooks/inbound/" in printed
    if demo:
        assert re.search(r"^\s+alice@demo\.teaminbox\.dev / demo-password / ADMIN$", printed, re.MULTILINE)
        assert "No account yet" not in printed
    else:
        assert "No account yet" in printed
        assert "./dev create-account --name NAME --plan PLAN --admin-email EMAIL --admin-password PASSWORD" in printed
        assert "./dev serve --demo" in printed


def test_serve_with_an_account_does_not_ask_for_one(tmp_path):
    # given
    assert teaminbox(cli_env(f"sqlite://{tmp_path}/x.db"), tmp_path, "create-account", *ACCOUNT_ARGS).returncode == 0

    # when
    with serving(tmp_path, "--port", str(free_port())) as (process, lines):
        printed = banner(process, lines)

    # then
    assert "GraphQL + GraphiQL" in printed
    assert "No account yet" not in printed


def test_every_cli_option_and_command_has_help_text():
    parser = build_parser()
    subcommands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for command in subcommands._choices_actions:
        assert command.help, f"command {command.dest} has no help"
    for name, subparser in subcommands.choices.items():
        for action in subparser._actions:
            assert action.help and action.help != argparse.SUPPRESS, f"{name} {action.option_strings} has no help"
    assert set(subcommands.choices) == set(COMMANDS)


@pytest.mark.parametrize("asking", ["--help", "-h", "help"])
def test_dev_help_lists_the_scripts_commands_and_the_cli_help(asking):
    # when
    result = subprocess.run(
        [str(REPO / "dev"), asking], cwd=REPO, capture_output=True, text=True, timeout=COMMAND_TIMEOUT
    )

    # then
    assert result.returncode == 0, result.stderr
    for command in ("./dev test", "./dev lint", "./dev lock", "./dev serve --demo"):
        assert command in result.stdout
    assert "usage: teaminbox" in result.stdout
    for command in COMMANDS:
        assert command in result.stdout
