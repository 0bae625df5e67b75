"""How the server opens its database (server/database.py): SQLite in WAL mode with
synchronous=NORMAL unless the URL says otherwise; PostgreSQL with bounded waits."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from tortoise import connections

from server.database import serving_url
from tests.support.graphql_path import compiled_path_only

SQLITE_SYNCHRONOUS_NORMAL = 1  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL


def test_sqlite_urls_get_synchronous_normal_unless_they_say_otherwise():
    assert parse_qs(urlsplit(serving_url("sqlite://teaminbox.db")).query) == {"synchronous": ["NORMAL"]}
    assert parse_qs(urlsplit(serving_url("sqlite:///var/lib/x.db?synchronous=FULL")).query) == {
        "synchronous": ["FULL"]}


def test_postgres_urls_get_bounded_waits_and_keep_their_own():
    query = parse_qs(urlsplit(serving_url("postgres://u@h:5432/db?timeout=2")).query)
    assert query == {"timeout": ["2"], "command_timeout": ["30"]}


@compiled_path_only  # no GraphQL: the app's database connection
async def test_the_served_sqlite_connection_is_wal_and_synchronous_normal(app):
    # given: the app as served (its lifespan opened the database through serving_url)
    client = connections.get("default")
    if client.capabilities.dialect != "sqlite":
        pytest.skip("SQLite pragmas: this pass runs on PostgreSQL")

    # when
    journal = await client.execute_query_dict("PRAGMA journal_mode")
    synchronous = await client.execute_query_dict("PRAGMA synchronous")

    # then
    assert journal[0]["journal_mode"] == "wal"
    assert synchronous[0]["synchronous"] == SQLITE_SYNCHRONOUS_NORMAL
