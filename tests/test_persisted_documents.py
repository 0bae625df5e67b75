"""Persisted documents (server/persisted): Apollo's automatic persisted queries on the
in-process store and on Redis (when TEAMINBOX_TEST_BROADCAST_URL is redis://), the
trusted documents manifest and the trusted-only mode, unit-level against
PersistedDocuments; then end to end over HTTP against the app."""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from models import Role
from server.app import create_app
from server.persisted import PersistedDocumentError, PersistedDocuments
from server.persisted import manifest as manifest_module
from server.persisted.request import sha256_hex
from server.persisted.stores import MemoryStore, RedisStore
from server.settings import Settings
from tests.support.documents import OPERATIONS_DIR, operation
from tests.support.environment import TEST_BROADCAST_URL, on_redis
from tests.support.graphql_path import COMPILED
from tests.support.http import data, error_codes
from tests.support.ports import free_port
from tests.support.teams import make_team

AD_HOC = "query AdHocMembers { teamMembers { id name } }"
OTHER_AD_HOC = "query AdHocNames { teamMembers { name } }"
STORES = ["memory", "redis"]


def persisted_query(sha256: object, version: object = 1) -> dict[str, object]:
    return {"persistedQuery": {"version": version, "sha256Hash": sha256}}


def document_text(number: int) -> str:
    return f"query Numbered{number} {{ teamMembers {{ id }} }}"


async def error_of(call: Any) -> PersistedDocumentError:
    with pytest.raises(PersistedDocumentError) as raised:
        await call
    return raised.value


@pytest.fixture(params=STORES)
def store_settings(request: pytest.FixtureRequest, namespace: str) -> Settings:
    """Settings whose store is in-process (`memory`) or the test Redis (`redis`), under
    this test's namespace."""
    if request.param == "redis" and not on_redis():
        pytest.skip("the Redis store needs TEAMINBOX_TEST_BROADCAST_URL=redis://...")
    url = TEST_BROADCAST_URL if request.param == "redis" else "memory://"
    return replace(Settings(), broadcast_url=url, namespace=namespace)


@pytest.fixture
async def documents(store_settings: Settings) -> AsyncIterator[PersistedDocuments]:
    persisted = PersistedDocuments(store_settings)
    await persisted.start()
    yield persisted
    await persisted.stop()


async def stored_count(persisted: PersistedDocuments) -> int:
    store = persisted.store
    if isinstance(store, RedisStore):
        return await store.count()
    assert isinstance(store, MemoryStore)
    return len(store)


# --- automatic persisted queries ---------------------------------------------------


async def test_unknown_hash_is_not_found_until_the_text_registers_it(documents: PersistedDocuments) -> None:
    sha256 = sha256_hex(AD_HOC)
    # given: the hash alone, never seen
    error = await error_of(documents.document(None, persisted_query(sha256), Role.AGENT))
    assert (error.code, error.message) == ("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
    # when: the link resends with the text
    assert await documents.document(AD_HOC, persisted_query(sha256), Role.AGENT) == AD_HOC
    # then: the hash alone is served, also as an empty query string
    assert await documents.document(None, persisted_query(sha256), Role.AGENT) == AD_HOC
    assert await documents.document("", persisted_query(sha256.upper()), None) == AD_HOC


async def test_a_request_without_a_hash_runs_its_query_unchanged(documents: PersistedDocuments) -> None:
    assert await documents.document(AD_HOC, None, Role.AGENT) == AD_HOC
    assert await documents.document(AD_HOC, {"other": {"extension": 1}}, Role.ADMIN) == AD_HOC
    assert await documents.document(None, {"persistedQuery": None}, None) is None
    assert await stored_count(documents) == 0


async def test_a_text_that_is_not_the_hash_is_refused_and_not_stored(documents: PersistedDocuments) -> None:
    error = await error_of(documents.document(AD_HOC, persisted_query(sha256_hex(OTHER_AD_HOC)), Role.AGENT))
    assert (error.code, error.message) == ("PERSISTED_QUERY_HASH_MISMATCH", "provided sha does not match query")
    missing = await error_of(documents.document(None, persisted_query(sha256_hex(OTHER_AD_HOC)), Role.AGENT))
    assert missing.code == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize("version", [2, 0, "1", True, None, 1.5])
async def test_an_unsupported_version_is_refused(documents: PersistedDocuments, version: object) -> None:
    error = await error_of(documents.document(AD_HOC, persisted_query(sha256_hex(AD_HOC), version), Role.AGENT))
    assert (error.code, error.message) == ("BAD_REQUEST", "Unsupported persisted query version")


@pytest.mark.parametrize("sha256", ["abc", "g" * 64, 12, None, ["a" * 64], "a" * 65])
async def test_a_hash_that_is_not_sha256_hex_is_refused(documents: PersistedDocuments, sha256: object) -> None:
    error = await error_of(documents.document(None, persisted_query(sha256), Role.AGENT))
    assert error.code == "BAD_REQUEST"
    assert "sha256Hash" in error.message


async def test_the_store_keeps_the_most_recently_used_documents(store_settings: Settings) -> None:
    # given: a store of 5, full
    persisted = PersistedDocuments(replace(store_settings, persisted_query_max_documents=5))
    try:
        for number in range(5):
            await persisted.document(document_text(number), persisted_query(sha256_hex(document_text(number))), None)
        # when: 0 and 1 are used again, then 3 new documents arrive
        for number in (0, 1):
            assert await persisted.document(None, persisted_query(sha256_hex(document_text(number))), None)
        for number in range(5, 8):
            await persisted.document(document_text(number), persisted_query(sha256_hex(document_text(number))), None)
        # then: the three least recently used (2, 3, 4) went; the used and the new stayed
        kept = set()
        for number in range(8):
            try:
                await persisted.document(None, persisted_query(sha256_hex(document_text(number))), None)
                kept.add(number)
            except PersistedDocumentError as error:
                assert error.code == "PERSISTED_QUERY_NOT_FOUND"
        assert kept == {0, 1, 5, 6, 7}
        assert await stored_count(persisted) == 5
    finally:
        await persisted.stop()


async def test_a_document_larger_than_a_request_body_runs_but_is_not_kept(store_settings: Settings) -> None:
    persisted = PersistedDocuments(replace(store_settings, max_body_bytes=100))
    large = "query Large { teamMembers { id } }" + " " * 100
    try:
        assert await persisted.document(large, persisted_query(sha256_hex(large)), None) == large
        error = await error_of(persisted.document(None, persisted_query(sha256_hex(large)), None))
        assert error.code == "PERSISTED_QUERY_NOT_FOUND"
        assert await stored_count(persisted) == 0
    finally:
        await persisted.stop()


@pytest.mark.parametrize("text", [
    "query Broken { teamMembers { id }",  # does not parse: anyone may register, junk is not kept
    "fragment F on User { id }",  # no operation
    "query Padded { teamMembers { id } }" + "#" * (16 * 1024),  # over MAX_KEPT_DOCUMENT_BYTES (a comment)
])
async def test_only_documents_worth_keeping_are_kept(store_settings: Settings, text: str) -> None:
    persisted = PersistedDocuments(store_settings)
    try:
        assert await persisted.document(text, persisted_query(sha256_hex(text)), None) == text  # still runs
        error = await error_of(persisted.document(None, persisted_query(sha256_hex(text)), None))
        assert error.code == "PERSISTED_QUERY_NOT_FOUND"
        assert await stored_count(persisted) == 0
    finally:
        await persisted.stop()


async def test_instances_on_one_redis_namespace_share_registrations(namespace: str) -> None:
    if not on_redis():
        pytest.skip("sharing between instances needs TEAMINBOX_TEST_BROADCAST_URL=redis://...")
    settings = replace(Settings(), broadcast_url=TEST_BROADCAST_URL, namespace=namespace)
    first, second = PersistedDocuments(settings), PersistedDocuments(settings)
    other_deployment = PersistedDocuments(replace(settings, namespace=namespace + "-other"))
    try:
        sha256 = sha256_hex(AD_HOC)
        await first.document(AD_HOC, persisted_query(sha256), Role.AGENT)
        assert await second.document(None, persisted_query(sha256), Role.AGENT) == AD_HOC
        error = await error_of(other_deployment.document(None, persisted_query(sha256), Role.AGENT))
        assert error.code == "PERSISTED_QUERY_NOT_FOUND"
    finally:
        for persisted in (first, second, other_deployment):
            await persisted.stop()


async def test_redis_down_serves_texts_and_answers_hashes_not_found(namespace: str) -> None:
    # A real Redis URL nobody listens on: every lookup fails to connect.
    settings = replace(Settings(), broadcast_url=f"redis://127.0.0.1:{free_port()}/0", namespace=namespace)
    persisted = PersistedDocuments(settings)
    try:
        sha256 = sha256_hex(AD_HOC)
        assert await persisted.document(AD_HOC, persisted_query(sha256), Role.AGENT) == AD_HOC
        error = await error_of(persisted.document(None, persisted_query(sha256), Role.AGENT))
        assert error.code == "PERSISTED_QUERY_NOT_FOUND"
        # trusted documents need no store
        body = operation("InboxCounts")
        assert await persisted.document(None, persisted_query(sha256_hex(body)), Role.AGENT) == body
    finally:
        await persisted.stop()


# --- documentId (the GraphQL-over-HTTP persisted documents proposal) ---------------


async def test_document_id_names_a_trusted_or_stored_document(documents: PersistedDocuments) -> None:
    body = operation("InboxCounts")
    assert await documents.document(None, None, Role.AGENT, document_id=f"sha256:{sha256_hex(body)}") == body
    await documents.document(AD_HOC, persisted_query(sha256_hex(AD_HOC)), Role.AGENT)
    assert await documents.document(None, None, Role.AGENT, document_id=f"sha256:{sha256_hex(AD_HOC)}") == AD_HOC
    unknown = await error_of(documents.document(None, None, Role.AGENT, document_id="sha256:" + "0" * 64))
    assert unknown.code == "PERSISTED_QUERY_NOT_FOUND"
    for malformed in (sha256_hex(body), "md5:abc", 7, "sha256:xyz"):
        error = await error_of(documents.document(None, None, Role.AGENT, document_id=malformed))
        assert error.code == "BAD_REQUEST"
    both = await error_of(documents.document(
        None, persisted_query(sha256_hex(AD_HOC)), Role.AGENT, document_id=f"sha256:{sha256_hex(body)}"
    ))
    assert both.code == "BAD_REQUEST"


# --- trusted documents ---------------------------------------------------------------


@pytest.fixture
async def trusted_only(store_settings: Settings) -> AsyncIterator[PersistedDocuments]:
    persisted = PersistedDocuments(replace(store_settings, trusted_documents_only=True))
    yield persisted
    await persisted.stop()


@pytest.mark.parametrize("role", [Role.AGENT, Role.ADMIN, None])
async def test_trusted_only_runs_manifest_documents_for_agents_admins_and_anonymous(
    trusted_only: PersistedDocuments, role: Role | None
) -> None:
    body = operation("InboxCounts")
    assert await trusted_only.document(body, None, role) == body
    assert await trusted_only.document(None, persisted_query(sha256_hex(body)), role) == body
    assert await trusted_only.document(body, persisted_query(sha256_hex(body)), role) == body
    # What Apollo Client sends for it: its cache adds __typename to every selection set.
    apollo_text = body.replace("byAssignee {", "byAssignee { __typename").replace("count }", "count __typename }")
    assert apollo_text != body
    assert await trusted_only.document(apollo_text, persisted_query(sha256_hex(apollo_text)), role) == apollo_text
    assert await trusted_only.document(None, persisted_query(sha256_hex(apollo_text)), role) == apollo_text


@pytest.mark.parametrize("role", [Role.AGENT, Role.ADMIN, None])
async def test_trusted_only_refuses_and_never_stores_other_documents(
    trusted_only: PersistedDocuments, role: Role | None
) -> None:
    body = operation("InboxCounts")
    changed = body.replace("mine", "mine __typename unassignedAlias: unassigned")
    for text in (AD_HOC, changed, "{ not parsable", ""):
        error = await error_of(trusted_only.document(text, None, role))
        assert error.code == "PERSISTED_QUERY_NOT_IN_LIST"
        assert error.message.startswith("Only trusted documents are accepted")
    registering = await error_of(trusted_only.document(AD_HOC, persisted_query(sha256_hex(AD_HOC)), role))
    assert registering.code == "PERSISTED_QUERY_NOT_IN_LIST"
    # nothing was stored: an analyst (who may use APQ) does not find it
    missing = await error_of(trusted_only.document(None, persisted_query(sha256_hex(AD_HOC)), Role.ANALYST))
    assert missing.code == "PERSISTED_QUERY_NOT_FOUND"
    # an unknown hash is still "not found", so Apollo's link resends the text (and is told why)
    unknown = await error_of(trusted_only.document(None, persisted_query(sha256_hex(OTHER_AD_HOC)), role))
    assert unknown.code == "PERSISTED_QUERY_NOT_FOUND"


async def test_trusted_only_leaves_analysts_ad_hoc_documents_and_apq(trusted_only: PersistedDocuments) -> None:
    sha256 = sha256_hex(AD_HOC)
    assert await trusted_only.document(AD_HOC, None, Role.ANALYST) == AD_HOC
    assert await trusted_only.document(AD_HOC, persisted_query(sha256), Role.ANALYST) == AD_HOC
    assert await trusted_only.document(None, persisted_query(sha256), Role.ANALYST) == AD_HOC
    # what an analyst stored is still not a trusted document for an agent
    error = await error_of(trusted_only.document(None, persisted_query(sha256), Role.AGENT))
    assert error.code == "PERSISTED_QUERY_NOT_IN_LIST"


async def test_without_trusted_only_every_role_runs_any_document(documents: PersistedDocuments) -> None:
    for role in (Role.AGENT, Role.ADMIN, Role.ANALYST, None):
        assert await documents.document(AD_HOC, None, role) == AD_HOC


# --- the manifest --------------------------------------------------------------------


def test_the_checked_in_manifest_is_the_operations_folder() -> None:
    checked_in = manifest_module.MANIFEST_PATH.read_text(encoding="utf-8")
    assert checked_in == manifest_module.render(manifest_module.build()), (
        "graphql/persisted-documents.json is out of date: run "
        ".venv/bin/python -m server.persisted > graphql/persisted-documents.json"
    )


def test_the_manifest_holds_every_operation_file_by_the_hash_of_its_exact_text() -> None:
    manifest = json.loads(manifest_module.MANIFEST_PATH.read_text(encoding="utf-8"))
    assert (manifest["format"], manifest["version"]) == ("apollo-persisted-query-manifest", 1)
    by_name = {entry["name"]: entry for entry in manifest["operations"]}
    files = sorted(OPERATIONS_DIR.glob("*.graphql"))
    assert len(files) == len(manifest["operations"]) == len(by_name)
    for path in files:
        entry = by_name[path.stem]
        assert entry["body"] == path.read_text(encoding="utf-8")
        assert entry["id"] == sha256_hex(entry["body"])
        assert entry["type"] in {"query", "mutation", "subscription"}
    assert manifest_module.load() == {entry["id"]: entry["body"] for entry in manifest["operations"]}


def test_a_manifest_whose_id_is_not_its_body_hash_is_refused(tmp_path: Path) -> None:
    forged = tmp_path / "persisted-documents.json"
    forged.write_text(json.dumps({
        "format": "apollo-persisted-query-manifest", "version": 1,
        "operations": [{"id": sha256_hex(operation("Login")), "name": "Login", "type": "mutation", "body": AD_HOC}],
    }))
    with pytest.raises(ValueError, match="not the SHA-256 of its body"):
        manifest_module.load(forged)
    with pytest.raises(ValueError, match="not the SHA-256 of its body"):
        PersistedDocuments(Settings(), manifest_path=forged)


def test_the_manifest_generator_refuses_a_file_without_one_named_operation(tmp_path: Path) -> None:
    (tmp_path / "Two.graphql").write_text("query A { viewer { id } }\nquery B { viewer { id } }\n")
    with pytest.raises(ValueError, match="exactly one named operation"):
        manifest_module.build(tmp_path)


# --- whatever a client sends ---------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=80),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
_hashes = (
    st.sampled_from([sha256_hex(AD_HOC), sha256_hex(operation("InboxCounts")), sha256_hex(operation("Login"))])
    | st.text(alphabet="0123456789abcdefABCDEF", min_size=60, max_size=68)
    | st.text(min_size=5000, max_size=20000)
    | _json
)
_persisted_queries = st.fixed_dictionaries(
    {}, optional={"version": st.sampled_from([1, 2, "1", True]) | _json, "sha256Hash": _hashes}
) | _json
_extensions = st.none() | _json | st.fixed_dictionaries({"persistedQuery": _persisted_queries}, optional={"x": _json})
_queries = st.none() | st.sampled_from([AD_HOC, operation("InboxCounts"), "", "{"]) | st.text(max_size=200) | _json
_document_ids = st.none() | st.builds(lambda h: f"sha256:{h}", _hashes) | _json


_instances: dict[bool, PersistedDocuments] = {}
_SERVABLE = {sha256_hex(AD_HOC), *manifest_module.load()}


@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=_queries, extensions=_extensions, document_id=_document_ids,
       role=st.sampled_from([None, *Role]), trusted=st.booleans())
def test_any_request_gives_a_document_or_a_persisted_document_error(
    query: Any, extensions: Any, document_id: Any, role: Role | None, trusted: bool
) -> None:
    # One in-process instance per mode for every example: what one example stored, the
    # next may be served, as in a running server.
    persisted = _instances.setdefault(trusted, PersistedDocuments(replace(Settings(), trusted_documents_only=trusted)))
    try:
        answer = asyncio.run(persisted.document(query, extensions, role, document_id=document_id))
    except PersistedDocumentError as error:
        assert error.code and error.message and 200 <= error.status < 500
        return
    hashed = isinstance(extensions, dict) and isinstance(extensions.get("persistedQuery"), dict)
    if query not in (None, "") or not (hashed or document_id is not None):
        assert answer is query
    else:
        # served by hash: a document whose hash the request named
        assert isinstance(answer, str) and sha256_hex(answer) in _SERVABLE


# --- end to end over HTTP (the endpoint calls PersistedDocuments) --------------------


def apq_body(sha256: str, query: str | None = None, variables: dict | None = None) -> dict[str, object]:
    body: dict[str, object] = {"extensions": persisted_query(sha256), "variables": variables or {}}
    if query is not None:
        body["query"] = query
    return body


async def post(client: httpx.AsyncClient, body: dict[str, object], token: str | None) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return await client.post("/graphql", json=body, headers=headers)


def first_error_code(response: httpx.Response) -> str | None:
    assert response.status_code < 500, response.text
    content_type = response.headers.get("content-type", "")
    assert content_type.startswith(("application/json", "application/graphql-response+json")), content_type
    codes = error_codes(response.json())
    return codes[0] if codes else None


async def test_http_apq_not_found_then_registered_then_served_by_hash(client: httpx.AsyncClient) -> None:
    team = await make_team(client)
    token, sha256 = team["bob"].token, sha256_hex(AD_HOC)
    # given: the hash alone (Apollo's PersistedQueryLink's first try)
    assert first_error_code(await post(client, apq_body(sha256), token)) == "PERSISTED_QUERY_NOT_FOUND"
    # when: it resends with the text
    registered = await post(client, apq_body(sha256, AD_HOC), token)
    assert registered.status_code == 200, registered.text
    members = data(registered.json())["teamMembers"]
    assert {member["id"] for member in members} == {team.admin.id, team["bob"].id, team["carol"].id}
    # then: the hash alone is served, over POST and over GET (useGETForHashedQueries)
    by_hash = await post(client, apq_body(sha256), token)
    assert by_hash.status_code == 200, by_hash.text
    assert data(by_hash.json()) == data(registered.json())
    # (the Accept header Apollo Client 4's HttpLink sends)
    over_get = await client.get("/graphql", params={"extensions": json.dumps(persisted_query(sha256))}, headers={
        "authorization": f"Bearer {token}", "accept": "application/graphql-response+json,application/json;q=0.9",
    })
    assert over_get.status_code == 200, over_get.text
    assert over_get.headers["content-type"].startswith("application/"), over_get.text[:200]
    assert data(over_get.json()) == data(registered.json())


async def test_http_manifest_documents_are_served_by_hash(client: httpx.AsyncClient) -> None:
    team = await make_team(client)
    body = operation("InboxCounts")
    response = await post(client, apq_body(sha256_hex(body), variables={"status": "OPEN"}), team["bob"].token)
    assert response.status_code == 200, response.text
    assert data(response.json())["inboxCounts"]["all"] == 0


async def test_http_hash_mismatch_is_a_graphql_error(client: httpx.AsyncClient) -> None:
    team = await make_team(client)
    response = await post(client, apq_body(sha256_hex(OTHER_AD_HOC), AD_HOC), team["bob"].token)
    assert first_error_code(response) == "PERSISTED_QUERY_HASH_MISMATCH"
    assert "data" not in response.json() or response.json()["data"] is None


@pytest.fixture
async def trusted_client(settings: Settings, graphql_path: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app with trusted_documents_only, on each GraphQL path."""
    trusted = replace(settings, trusted_documents_only=True, compiled_documents=graphql_path == COMPILED)
    application = create_app(trusted)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://teaminbox.test") as http:
            yield http


async def test_http_trusted_only_by_role(trusted_client: httpx.AsyncClient) -> None:
    # Anonymous: Login (a manifest document, sent as text by make_team) works.
    team = await make_team(trusted_client, roles={"bob": Role.AGENT, "dave": Role.ANALYST})
    anonymous = await post(trusted_client, {"query": AD_HOC}, None)
    assert first_error_code(anonymous) == "PERSISTED_QUERY_NOT_IN_LIST"
    for token in (team["bob"].token, team.admin.token):
        refused = await post(trusted_client, {"query": AD_HOC}, token)
        assert first_error_code(refused) == "PERSISTED_QUERY_NOT_IN_LIST"
        trusted = await post(trusted_client, {"query": operation("TeamMembers"), "variables": {}}, token)
        assert trusted.status_code == 200, trusted.text
        assert len(data(trusted.json())["teamMembers"]) == 3
        counts: dict[str, object] = {"query": operation("InboxCounts"), "variables": {"status": "OPEN"}}
        compiled = await post(trusted_client, counts, token)
        assert compiled.status_code == 200, compiled.text
        assert data(compiled.json())["inboxCounts"]["all"] == 0
    analyst = await post(trusted_client, {"query": AD_HOC}, team["dave"].token)
    assert analyst.status_code == 200, analyst.text
    assert len(data(analyst.json())["teamMembers"]) == 3


async def test_http_registrations_are_shared_with_other_instances(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    if not on_redis():
        pytest.skip("sharing between instances needs TEAMINBOX_TEST_BROADCAST_URL=redis://...")
    team = await make_team(client)
    other_instance = PersistedDocuments(settings)
    try:
        # registered through the endpoint, found by another instance
        registered = await post(client, apq_body(sha256_hex(AD_HOC), AD_HOC), team["bob"].token)
        assert registered.status_code == 200, registered.text
        assert await other_instance.document(None, persisted_query(sha256_hex(AD_HOC)), Role.AGENT) == AD_HOC
        # registered by another instance, served by the endpoint
        await other_instance.document(OTHER_AD_HOC, persisted_query(sha256_hex(OTHER_AD_HOC)), Role.AGENT)
        by_hash = await post(client, apq_body(sha256_hex(OTHER_AD_HOC)), team["bob"].token)
        assert by_hash.status_code == 200, by_hash.text
        assert len(data(by_hash.json())["teamMembers"]) == 3
    finally:
        await other_instance.stop()
