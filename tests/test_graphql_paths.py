"""The `client` fixture's two GraphQL paths are really two: on `compiled` the compiled
documents answer the documents they know, on `general` no request even reaches them."""
from __future__ import annotations

from starlette.routing import Route

from schema.compiled import compiled_operation
from server.compiled_route import CompiledOperations
from tests.support.documents import operation
from tests.support.graphql_path import COMPILED
from tests.support.http import data, gql
from tests.support.statements import counting_statements
from tests.support.teams import make_team
from tests.support.webhook import inbound
from tests.test_compiled_inbox import COMPILED_INBOX_VIEW_STATEMENTS


async def test_only_the_compiled_path_answers_a_compiled_document(client, app, graphql_path, monkeypatch):
    # given: a conversation, and a spy on the compiled front's lookup of documents
    team = await make_team(client)
    await inbound(client, team.account, "+14155550123", "Hello")
    looked_up: list[str | None] = []
    def spy(query, operation_name):
        found = compiled_operation(query, operation_name)
        looked_up.append(found.name if found else None)
        return found

    monkeypatch.setattr("server.compiled_route.compiled_operation", spy)  # where the front looks documents up

    # when: InboxView, a document with a compiled form
    with counting_statements() as statements:
        view = data(await gql(client, operation("InboxView"), {"status": "OPEN"}, token=team["bob"].token))

    # then: the same answer either way...
    assert len(view["inbox"]["edges"]) == 1 and view["inboxCounts"]["all"] == 1
    (endpoint,) = [route.endpoint for route in app.routes if isinstance(route, Route) and route.path == "/graphql"]
    if graphql_path == COMPILED:
        # ...answered by the compiled document, in its few statements
        assert isinstance(endpoint, CompiledOperations)
        assert looked_up == ["InboxView"]
        assert len(statements) == COMPILED_INBOX_VIEW_STATEMENTS, statements
    else:
        # ...answered by the general app alone, which runs its own resolvers
        assert not isinstance(endpoint, CompiledOperations)
        assert looked_up == []
        assert len(statements) > COMPILED_INBOX_VIEW_STATEMENTS, statements

