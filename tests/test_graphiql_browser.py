"""GraphiQL in a real headless Chromium, as a person uses it against `./dev serve --demo`:
the page loads from a real server with nothing beyond the loopback, the person runs the
Login mutation the page offers, pastes the token into the Headers tab, runs a query and
a subscription, and sees their answers. Fails if any request leaves 127.0.0.1 (each one is
recorded; those that would are blocked) or the page's CSP refuses anything."""
from __future__ import annotations

import json

import pytest

from server.demo import DEMO_PASSWORD, seed_demo
from tests.support.browser import loopback_page
from tests.support.live import running_server, start_cursor
from tests.support.webhook import inbound

expect = pytest.importorskip("playwright.async_api", reason="the playwright package is not installed").expect
BOB = "bob@demo.teaminbox.dev"
WAIT_MS = 15_000
RESULT = "document.querySelector('.result-window .CodeMirror').CodeMirror.getValue()"
QUERY = "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror"
HEADERS = "document.querySelector('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror').CodeMirror"


async def result_of(page) -> dict:
    return json.loads(await page.evaluate(RESULT))


async def run_operation_at(page, text: str, expect_in_result: str) -> dict:
    """Put the cursor on `text` in the query editor and press Ctrl-Enter (GraphiQL runs the
    operation under the cursor); the result, once it shows `expect_in_result`."""
    await page.locator(".graphiql-query-editor .CodeMirror-line", has_text=text).first.click()
    await page.keyboard.press("Control+Enter")
    await expect(page.locator(".result-window")).to_contain_text(expect_in_result, timeout=WAIT_MS)
    return await result_of(page)


async def test_a_person_logs_in_queries_and_subscribes_in_graphiql_offline(settings):
    async with running_server(settings) as server, server.http() as http, loopback_page() as (page, traffic):
        # given: the demo account, as `./dev serve --demo` makes it
        account, logins = await seed_demo()
        assert (BOB, DEMO_PASSWORD) in [(email, password) for email, password, _ in logins]

        # when: the page loads and GraphiQL offers the Login mutation
        await page.goto(f"{server.http_url}/graphql")
        await page.wait_for_selector(".graphiql-query-editor .CodeMirror", timeout=WAIT_MS)
        assert "mutation Login" in await page.evaluate(f"{QUERY}.getValue()")

        # when: they run it
        login = (await run_operation_at(page, "login(email:", '"token"'))["data"]["login"]

        # then
        assert login["userErrors"] == [] and login["token"]

        # when: they type the header into the Headers tab and run Me
        await page.get_by_role("button", name="Headers", exact=True).click()
        await page.locator(".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror").click()
        header = json.dumps({"Authorization": f"Bearer {login['token']}"})
        await page.keyboard.type(header)
        typed = await page.evaluate(f"{HEADERS}.getValue()")
        assert json.loads(typed) == json.loads(header), typed  # the editor's closing brackets overtyped, not doubled
        me = (await run_operation_at(page, "viewer {", BOB))["data"]["viewer"]

        # then: the query ran as Bob
        assert me["user"]["email"] == BOB and me["account"]["name"] == account.name

        # when: they subscribe to a customer's conversation (over the WebSocket, the
        # header as its connection payload) and the customer writes again
        phone = "+14155550199"
        conversation_id = (await inbound(http, account, phone, "First message"))["conversationId"]
        after = json.dumps(await start_cursor())
        subscription = (f"subscription Live {{ conversationEvents(conversationId: {json.dumps(conversation_id)}, "
                        f"after: {after}) {{ __typename ... on MessageAdded {{ message {{ body }} }} }} }}")
        await page.evaluate(f"{QUERY}.setValue({json.dumps(subscription)})")  # as a paste would
        # GraphiQL names the tab after the operation once it has parsed the new text
        await expect(page.locator(".graphiql-tab-active")).to_contain_text("Live", timeout=WAIT_MS)
        await page.locator(".graphiql-query-editor .CodeMirror-line", has_text="conversationEvents").first.click()
        await page.keyboard.press("Control+Enter")
        await inbound(http, account, phone, "Written while GraphiQL listens")

        # then: the event shows in the page
        await expect(page.locator(".result-window")).to_contain_text("Written while GraphiQL listens", timeout=WAIT_MS)
        event = (await result_of(page))["data"]["conversationEvents"]
        assert event == {"__typename": "MessageAdded", "message": {"body": "Written while GraphiQL listens"}}

        # then: everything came from this server, nothing was refused or broke
        assert traffic.off_loopback() == []
        assert traffic.websockets == [server.ws_url]
        assert any(url.endswith("/graphiql.min.js") for url in traffic.requests)
        assert await page.evaluate("window.__cspViolations") == []
        assert traffic.page_errors == []
        assert traffic.console_errors == []


async def test_the_browser_blocks_and_records_what_would_leave_the_loopback():
    # The check above is only as good as this: a request off 127.0.0.1 is seen and stopped.
    async with loopback_page() as (page, traffic):
        # when
        with pytest.raises(Exception, match="ERR_BLOCKED_BY_CLIENT"):
            await page.goto("http://example.com/")

        # then
        assert traffic.off_loopback() == ["http://example.com/", "http://example.com/"]
        assert traffic.blocked == ["http://example.com/"]
