"""GraphQL over HTTP as the specification (and Apollo Server, GraphQL Yoga) serve it: each
method, media type and status code; every refusal a GraphQL JSON body with a coded error
and no `data`; the operation a request runs chosen before it runs; CORS for the origins
the deployment allows. On both GraphQL paths (the compiled documents in front, or not)."""
from __future__ import annotations

import json
from dataclasses import replace

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from models import Message
from server.app import create_app
from server.settings import Settings
from tests.support.documents import operation
from tests.support.http import data, error_codes
from tests.support.teams import make_team
from tests.support.webhook import inbound

GRAPHQL_RESPONSE = "application/graphql-response+json"
SPEC = {"accept": GRAPHQL_RESPONSE}
LEGACY = {"accept": "application/json"}
INBOX_PAGE = operation("InboxPage")
SEND = 'mutation Send($c: ID!) { sendMessage(conversationId: $c, body: "twice?") { message { id } } }'


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def assert_request_error(response: httpx.Response, status: int, code: str, media_type: str) -> dict:
    """A request error: the status, the media type, `errors` with the code, no `data`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == media_type
    body = response.json()
    assert "data" not in body, body
    assert error_codes(body) == [code], body
    return body


@pytest.fixture
async def team_and_conversation(client):
    team = await make_team(client)
    conversation = (await inbound(client, team.account, "+14155550123", "Hello"))["conversationId"]
    return team, conversation


# --- methods ---------------------------------------------------------------------------

async def test_queries_travel_by_get_with_their_variables_as_json(client, team_and_conversation):
    team, _ = team_and_conversation
    params = {"query": INBOX_PAGE, "variables": json.dumps({"filter": {"scope": "ALL"}}), "operationName": "InboxPage"}

    response = await client.get("/graphql", params=params, headers={**bearer(team["bob"].token), **SPEC})

    assert response.status_code == 200
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert len(data(response.json())["inbox"]["edges"]) == 1


async def test_a_mutation_over_get_is_refused_with_405_and_does_not_run(client, team_and_conversation):
    team, conversation = team_and_conversation
    params = {"query": SEND, "variables": json.dumps({"c": conversation})}

    response = await client.get("/graphql", params=params, headers=bearer(team.admin.token))

    assert_request_error(response, 405, "METHOD_NOT_ALLOWED", "application/json")
    assert response.headers["allow"] == "POST"
    assert await Message.filter(conversation_id=int(conversation)).count() == 1


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_other_methods_get_405_naming_the_allowed_ones(client, method):
    response = await client.request(method, "/graphql", json={"query": "{ __typename }"})

    assert_request_error(response, 405, "METHOD_NOT_ALLOWED", "application/json")
    assert response.headers["allow"] == "GET, POST"


async def test_a_subscription_over_plain_http_is_refused_clearly(client, team_and_conversation):
    team, _ = team_and_conversation

    response = await client.post("/graphql", json={"query": operation("InboxEvents")},
                                 headers=bearer(team["bob"].token))

    body = assert_request_error(response, 400, "BAD_REQUEST", "application/json")
    assert "WebSocket" in body["errors"][0]["message"] and "multipart/mixed" in body["errors"][0]["message"]


# --- media types and status codes ------------------------------------------------------

@pytest.mark.parametrize(("accept", "media_type"), [
    (None, "application/json"),
    ("*/*", "application/json"),
    ("application/json", "application/json"),
    (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
    ("application/graphql-response+json,application/json;q=0.9", GRAPHQL_RESPONSE),  # Apollo Client 4
    ("application/graphql-response+json, application/graphql+json, application/json, text/event-stream, "
     "multipart/mixed", GRAPHQL_RESPONSE),  # urql
    ("application/json, application/graphql-response+json;q=0.5", "application/json"),
])
async def test_the_answer_takes_the_media_type_the_client_prefers(client, accept, media_type):
    headers = {"accept": accept} if accept else {}
    request = client.build_request("POST", "/graphql", json={"query": "{ __typename }"}, headers=headers)
    if accept is None:
        del request.headers["accept"]

    response = await client.send(request)

    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_a_client_accepting_neither_json_type_gets_406(client):
    response = await client.post("/graphql", json={"query": "{ __typename }"}, headers={"accept": "text/csv"})

    assert_request_error(response, 406, "NOT_ACCEPTABLE", "application/json")


@pytest.mark.parametrize(("query", "variables", "code"), [
    ("{ inbox(", None, "GRAPHQL_PARSE_FAILED"),
    ("{ noSuchField }", None, "GRAPHQL_VALIDATION_FAILED"),
    ("query($first: Int!) { inbox(first: $first) { edges { cursor } } }", {"first": "many"}, "BAD_USER_INPUT"),
    ("query($first: Int!) { inbox(first: $first) { edges { cursor } } }", {}, "BAD_USER_INPUT"),
])
async def test_a_document_that_cannot_run_is_a_request_error_400_or_200_by_media_type(
    client, team_and_conversation, query, variables, code
):
    team, _ = team_and_conversation
    body = {"query": query, "variables": variables}
    headers = bearer(team["bob"].token)

    spec = await client.post("/graphql", json=body, headers={**headers, **SPEC})
    legacy = await client.post("/graphql", json=body, headers={**headers, **LEGACY})

    assert_request_error(spec, 400, code, GRAPHQL_RESPONSE)
    # application/json keeps 200 for every well-formed request (the specification's rule).
    assert_request_error(legacy, 200, code, "application/json")


async def test_field_errors_keep_200_and_data_under_either_media_type(client):
    for headers in (SPEC, LEGACY):
        response = await client.post("/graphql", json={"query": "{ inbox { edges { cursor } } }"}, headers=headers)

        assert response.status_code == 200
        body = response.json()
        assert "data" in body and error_codes(body) == ["UNAUTHENTICATED"]


@pytest.mark.parametrize(("content", "content_type", "status", "code"), [
    (b"{", "application/json", 400, "BAD_REQUEST"),
    (b'"a string"', "application/json", 400, "BAD_REQUEST"),
    (b"null", "application/json", 400, "BAD_REQUEST"),
    (b"{}", "application/json", 400, "BAD_REQUEST"),  # no query
    (b'{"query": 5}', "application/json", 400, "BAD_REQUEST"),
    (b'{"query": "{ __typename }", "variables": [1]}', "application/json", 400, "BAD_REQUEST"),
    (b'{"query": "{ __typename }", "extensions": "x"}', "application/json", 400, "BAD_REQUEST"),
    (b'{"query": "{ __typename }", "operationName": 5}', "application/json", 400, "BAD_REQUEST"),
    (b'[{"query": "{ __typename }"}]', "application/json", 400, "BAD_REQUEST"),  # batching is off
    (b"query=%7B__typename%7D", "application/x-www-form-urlencoded", 415, "UNSUPPORTED_MEDIA_TYPE"),
    (b"{ __typename }", "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"),
])
async def test_a_request_that_is_not_well_formed_gets_a_coded_json_error(client, content, content_type, status, code):
    for accept in (GRAPHQL_RESPONSE, "application/json"):
        response = await client.post("/graphql", content=content, headers={
            "content-type": content_type, "accept": accept})

        assert_request_error(response, status, code, accept)


async def test_a_get_with_variables_that_are_not_json_is_a_bad_request(client):
    response = await client.get("/graphql", params={"query": "{ __typename }", "variables": "{nope"})

    assert_request_error(response, 400, "BAD_REQUEST", "application/json")


@pytest.mark.parametrize("accept", ["*/*", "application/json", GRAPHQL_RESPONSE])
async def test_a_get_naming_a_document_by_hash_gets_json_not_the_graphiql_page(client, accept):
    # Apollo's useGETForHashedQueries, or a trusted document by documentId: no `query`.
    unknown = "0" * 64
    for params in ({"extensions": json.dumps({"persistedQuery": {"version": 1, "sha256Hash": unknown}})},
                   {"documentId": f"sha256:{unknown}"}):
        response = await client.get("/graphql", params=params, headers={"accept": accept})

        media_type = GRAPHQL_RESPONSE if accept == GRAPHQL_RESPONSE else "application/json"
        assert response.headers["content-type"] == media_type, response.text
        assert "data" not in response.json() and response.json()["errors"], response.text


async def test_answers_vary_with_accept(client):
    page = await client.get("/graphql", headers={"accept": "text/html"})
    answer = await client.get("/graphql", params={"query": "{ __typename }"}, headers={"accept": "*/*"})
    refused = await client.get("/graphql", params={"query": "{ x"}, headers=SPEC)

    assert page.headers["content-type"].startswith("text/html")
    assert answer.json() == {"data": {"__typename": "Query"}}
    for response in (answer, refused):
        assert "accept" in response.headers["vary"].lower()


async def test_a_get_with_null_variables_runs_as_without_them(client):
    response = await client.get("/graphql", params={"query": "{ __typename }", "variables": "null",
                                                    "extensions": "null"})

    assert response.status_code == 200 and response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(("persisted_query", "spec_status", "legacy_status", "code"), [
    ({"version": 1, "sha256Hash": "0" * 64}, 404, 200, "PERSISTED_QUERY_NOT_FOUND"),  # well formed
    ({"version": 2, "sha256Hash": "0" * 64}, 400, 400, "BAD_REQUEST"),  # not
    ({"version": 1, "sha256Hash": "not a hash"}, 400, 400, "BAD_REQUEST"),
])
async def test_persisted_document_refusals_take_the_status_of_their_kind(
    client, persisted_query, spec_status, legacy_status, code
):
    body = {"extensions": {"persistedQuery": persisted_query}}

    spec = await client.post("/graphql", json=body, headers=SPEC)
    legacy = await client.post("/graphql", json=body, headers=LEGACY)

    assert_request_error(spec, spec_status, code, GRAPHQL_RESPONSE)
    assert_request_error(legacy, legacy_status, code, "application/json")


# --- which operation runs --------------------------------------------------------------

async def test_several_operations_without_operation_name_run_none(client, team_and_conversation):
    team, conversation = team_and_conversation
    document = SEND + "\nquery Other { __typename }"

    response = await client.post("/graphql", json={"query": document, "variables": {"c": conversation}},
                                 headers={**bearer(team.admin.token), **SPEC})

    assert_request_error(response, 400, "OPERATION_RESOLUTION_FAILURE", GRAPHQL_RESPONSE)
    assert await Message.filter(conversation_id=int(conversation)).count() == 1


async def test_an_unknown_operation_name_says_so(client, team_and_conversation):
    team, conversation = team_and_conversation
    body = {"query": SEND, "variables": {"c": conversation}, "operationName": "Sned"}

    response = await client.post("/graphql", json=body, headers={**bearer(team.admin.token), **SPEC})

    error = assert_request_error(response, 400, "OPERATION_RESOLUTION_FAILURE", GRAPHQL_RESPONSE)["errors"][0]
    assert error["message"] == "Unknown operation named 'Sned'."
    assert await Message.filter(conversation_id=int(conversation)).count() == 1


async def test_the_named_operation_of_several_is_the_one_that_runs(client, team_and_conversation):
    team, conversation = team_and_conversation
    document = SEND + "\nquery Other { __typename }"

    response = await client.post("/graphql", json={"query": document, "variables": {"c": conversation},
                                                   "operationName": "Send"}, headers=bearer(team.admin.token))

    assert data(response.json())["sendMessage"]["message"]["id"]
    assert await Message.filter(conversation_id=int(conversation)).count() == 2


# --- origins ---------------------------------------------------------------------------

BROWSER_APP = "http://localhost:5173"
PREFLIGHT = {"origin": BROWSER_APP, "access-control-request-method": "POST",
             "access-control-request-headers": "authorization, content-type, apollographql-client-name"}


@pytest.fixture
async def cors_client(settings):
    """The app with a browser app's origin allowed (TEAMINBOX_ALLOWED_ORIGINS)."""
    app = create_app(replace(settings, allowed_origins=(BROWSER_APP,)))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://teaminbox.test") as http:
            yield http


async def test_an_allowed_origin_passes_the_preflight_and_reads_answers(cors_client):
    preflight = await cors_client.options("/graphql", headers=PREFLIGHT)

    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == BROWSER_APP
    allowed = {h.strip() for h in preflight.headers["access-control-allow-headers"].lower().split(",")}
    assert {"authorization", "content-type", "apollographql-client-name"} <= allowed
    assert "POST" in preflight.headers["access-control-allow-methods"]

    answer = await cors_client.post("/graphql", json={"query": "{ __typename }"}, headers={"origin": BROWSER_APP})
    assert answer.headers["access-control-allow-origin"] == BROWSER_APP
    assert "origin" in answer.headers["vary"].lower()


async def test_refusals_carry_cors_headers_so_a_browser_can_read_them(cors_client, settings):
    too_large = await cors_client.post("/graphql", content=b"x" * (settings.max_body_bytes + 1), headers={
        "origin": BROWSER_APP, "content-type": "application/json"})

    assert too_large.status_code == 413
    assert too_large.headers["access-control-allow-origin"] == BROWSER_APP


async def test_an_origin_is_matched_as_browsers_send_it(settings, monkeypatch):
    # given: the origin configured with a default port, capitals and a trailing slash
    monkeypatch.setenv("TEAMINBOX_ALLOWED_ORIGINS", "HTTP://LocalHost:5173/, https://app.example.com:443")
    from_env = Settings.from_env()
    app = create_app(replace(settings, allowed_origins=from_env.allowed_origins))

    # when
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://teaminbox.test") as http:
        answers = [await http.post("/graphql", json={"query": "{ __typename }"}, headers={"origin": origin})
                   for origin in (BROWSER_APP, "https://app.example.com")]

    # then
    assert from_env.allowed_origins == ("http://localhost:5173", "https://app.example.com")
    assert [a.headers.get("access-control-allow-origin") for a in answers] == [BROWSER_APP, "https://app.example.com"]


async def test_other_origins_get_no_cors_grant(cors_client):
    refused = await cors_client.options("/graphql", headers={**PREFLIGHT, "origin": "https://evil.example"})
    answer = await cors_client.post("/graphql", json={"query": "{ __typename }"},
                                    headers={"origin": "https://evil.example"})

    assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
    assert "access-control-allow-origin" not in answer.headers


async def test_by_default_no_other_origin_is_granted(client):  # no origins set: same origin only
    preflight = await client.options("/graphql", headers=PREFLIGHT)
    answer = await client.post("/graphql", json={"query": "{ __typename }"}, headers={"origin": BROWSER_APP})

    assert preflight.status_code == 400 and "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in answer.headers


# --- arbitrary input -------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
_requests = st.fixed_dictionaries({}, optional={
    "query": st.one_of(_json, st.sampled_from(["{ __typename }", "{", "query A { __typename } query B { x }",
                                               "subscription { notificationAdded { id } }"])),
    "variables": _json, "operationName": _json, "extensions": _json,
})


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(_requests, _json), accept=st.sampled_from([GRAPHQL_RESPONSE, "application/json", "*/*"]))
async def test_any_json_body_gets_a_graphql_json_answer(client, body, accept):
    response = await client.post("/graphql", content=json.dumps(body), headers={
        "content-type": "application/json", "accept": accept})

    assert response.status_code in (200, 400, 403, 404, 405), response.text
    assert response.headers["content-type"].split(";")[0] in (accept if accept != "*/*" else "application/json",)
    answer = response.json()
    assert isinstance(answer, dict) and ("data" in answer or answer.get("errors")), answer
    for error in answer.get("errors") or []:
        assert error["message"] != "Internal server error", (body, answer)
        assert "extensions" not in error or "Traceback" not in str(error["extensions"])
    if "data" not in answer:  # a request error says why, with a code
        assert all(error.get("extensions", {}).get("code") for error in answer["errors"]), answer
