"""GraphiQL served by teaminbox itself: the page at GET /graphql and the landing page at /
with headers fit for HTML (a CSP that allows only our own assets), the vendored assets
byte for byte what static/manifest.json records from the npm registry's tarballs, and
nothing anywhere that points a browser off this server. (The page working in a real
browser, offline: test_graphiql_browser.py.)"""
from __future__ import annotations

import hashlib
import json
import re
from html.parser import HTMLParser

import pytest
from graphql import parse, validate

from schema.app import build_schema
from server.graphiql import assets, vendor
from server.graphiql.page import WELCOME

BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
MANIFEST = json.loads(assets.MANIFEST.read_text())["assets"]
# Any absolute URL but the XML namespace of SVG (a name, not something fetched).
ABSOLUTE_URL = re.compile(rb"(?:https?|wss?)://(?!www\.w3\.org/)[^\s\"'<>)]+")


class _References(HTMLParser):
    """Every script and stylesheet a page loads, and every inline script it carries."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[str] = []
        self.inline_scripts: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script":
            if attributes.get("src"):
                self.loaded.append(attributes["src"] or "")
            else:
                self.inline_scripts.append(attributes)
        if tag == "link" and attributes.get("href") and attributes["href"] != "data:,":  # data:, = no icon
            self.loaded.append(attributes["href"] or "")
        if "style" in attributes:
            self.inline_scripts.append(attributes)  # a style attribute: blocked by style-src 'self'


def references(html: str) -> _References:
    parser = _References()
    parser.feed(html)
    return parser


def policy(header: str) -> dict[str, list[str]]:
    directives = (d.split() for d in header.split(";") if d.strip())
    return {name: values for name, *values in directives}


def assert_html_headers(response, host: str = "teaminbox.test") -> None:
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    csp = policy(response.headers["content-security-policy"])
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:"]
    assert csp["font-src"] == ["'self'", "data:"]
    assert csp["connect-src"] == ["'self'", f"ws://{host}"]
    assert csp["frame-ancestors"] == ["'none'"]


async def test_a_browser_gets_graphiql_at_graphql_with_headers_for_html(client):
    # when
    response = await client.get("/graphql", headers=BROWSER)

    # then
    assert response.status_code == 200
    assert_html_headers(response)
    assert 'id="graphiql"' in response.text


async def test_the_page_loads_only_our_versioned_assets_and_runs_no_inline_script(client):
    # given
    html = (await client.get("/graphql", headers=BROWSER)).text

    # when
    page = references(html)

    # then: the configuration block is data (type application/json), never run
    assert [s.get("type") for s in page.inline_scripts] == ["application/json"]
    assert page.loaded and all(src.startswith(assets.PREFIX) for src in page.loaded), page.loaded
    served = {f"{assets.PREFIX}{path}" for path in assets.table()}
    assert set(page.loaded) <= served
    assert {src.rsplit("/", 1)[1] for src in page.loaded} == {
        "react.production.min.js", "react-dom.production.min.js", "graphiql.min.js", "graphiql.min.css",
        "graphiql-page.js", "graphiql-page.css",
    }
    for src in page.loaded:
        response = await client.get(src)
        assert response.status_code == 200, src


async def test_the_welcome_document_explains_the_login_and_validates_against_the_schema(client):
    # given
    html = (await client.get("/graphql", headers=BROWSER)).text
    config = re.search(r'<script id="graphiql-config" type="application/json">(.*?)</script>', html, re.S)
    assert config is not None

    # when
    welcome = json.loads(config.group(1))["welcome"]

    # then
    assert welcome == WELCOME.read_text()
    assert "login" in welcome and "Authorization" in welcome and "Bearer" in welcome and "Headers" in welcome
    assert validate(build_schema()._schema, parse(welcome)) == []


@pytest.mark.parametrize("entry", MANIFEST, ids=lambda e: e["path"])
async def test_each_vendored_asset_is_served_as_the_manifest_records_it(client, entry):
    # when: as a browser asks (gzip) and as a plain client asks (identity)
    compressed = await client.get(assets.PREFIX + entry["path"], headers={"accept-encoding": "gzip"})
    plain = await client.get(assets.PREFIX + entry["path"], headers={"accept-encoding": "identity"})

    # then
    for response in compressed, plain:
        assert response.status_code == 200
        assert hashlib.sha256(response.content).hexdigest() == entry["sha256"]
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["x-content-type-options"] == "nosniff"
    assert compressed.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    expected_type = {"js": "text/javascript", "css": "text/css"}.get(entry["path"].rsplit(".", 1)[-1], "text/plain")
    assert plain.headers["content-type"] == f"{expected_type}; charset=utf-8"
    # versioned in its path, so the year-long cache never serves a stale file
    assert entry["path"].startswith(f"{entry['package']}@{entry['version']}/")


def test_the_manifest_covers_every_pin_with_its_registry_tarball_and_license():
    # given
    recorded = {(e["package"], e["version"], e["file"]) for e in MANIFEST}

    # then
    for pin in vendor.PINS:
        assert {(pin.package, pin.version, f"package/{inner}") for inner in pin.files} <= recorded
        assert (pin.package, pin.version, "package/LICENSE") in recorded
    for entry in MANIFEST:
        name = entry["package"]
        assert entry["tarball"] == f"https://registry.npmjs.org/{name}/-/{name}-{entry['version']}.tgz"
        assert re.fullmatch(r"sha512-[A-Za-z0-9+/]{86}==", entry["integrity"])
        # what is served differs from what was published only by its source-map comment
        body = (assets.STATIC / entry["path"]).read_bytes()
        assert entry["upstreamSha256"] == entry["sha256"] or b"sourceMappingURL" not in body


@pytest.mark.parametrize("path", ["../manifest.json", "manifest.json", "graphiql@4.1.2/../vendor.py",
                                  "graphiql@4.1.2/graphiql.min.js.map", "teaminbox@000000000000/graphiql-page.js"])
async def test_nothing_but_the_listed_assets_is_served(client, path):
    # when
    response = await client.get(assets.PREFIX + path)

    # then
    assert response.status_code == 404


async def test_no_page_or_asset_points_the_browser_off_this_server(client):
    # given: the pages and what we author in full
    pages = [(await client.get(path, headers=BROWSER)).content for path in ("/graphql", "/")]
    authored = [assets.table()[path].body for path in assets.table() if path.startswith("teaminbox@")]
    vendored = {e["path"]: assets.table()[e["path"]].body for e in MANIFEST if e["path"].endswith((".js", ".css"))}

    # then: no URL at all in ours; in the vendored bundles nothing that a browser fetches
    # by itself (stylesheet imports and url()s, source maps); the bundles' other strings
    # (links in messages) are checked in a real browser by test_graphiql_browser.py.
    own = re.compile(rb"(?:http|ws)://teaminbox\.test/")  # the landing page names this server's URLs
    for body in pages + authored:
        assert [u for u in ABSOLUTE_URL.findall(body) if not own.match(u)] == []
    for path, body in vendored.items():
        assert b"sourceMappingURL" not in body, path
        if path.endswith(".css"):
            assert b"@import" not in body, path
            assert [u for u in re.findall(rb"url\(\s*['\"]?([^'\")]*)", body) if not u.startswith(b"data:")] == []


async def test_the_landing_page_says_where_to_go(client):
    # when
    response = await client.get("/", headers=BROWSER)

    # then
    assert response.status_code == 200
    assert_html_headers(response)
    assert 'href="/graphql"' in response.text
    assert "ws://teaminbox.test/graphql" in response.text and "graphql-transport-ws" in response.text
    assert 'href="/healthz"' in response.text
    assert [s for s in references(response.text).inline_scripts] == []


async def test_a_json_client_at_the_root_gets_the_urls_as_json(client):
    # when
    response = await client.get("/", headers={"accept": "application/json"})

    # then
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "graphql": "http://teaminbox.test/graphql",
        "graphiql": "http://teaminbox.test/graphql",
        "websocket": "ws://teaminbox.test/graphql",
        "websocketProtocol": "graphql-transport-ws",
        "health": "http://teaminbox.test/healthz",
        "ready": "http://teaminbox.test/readyz",
    }


async def test_a_host_header_cannot_add_to_the_policy(client):
    # when
    response = await client.get("/graphql", headers={**BROWSER, "host": "evil.test; script-src *"})

    # then
    csp = policy(response.headers["content-security-policy"])
    assert csp["connect-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
