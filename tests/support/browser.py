"""Headless Chromium for tests: Debian's `chromium` package (/usr/bin/chromium) driven by
Playwright (its own browser download is never used), confined to the loopback. Every
request a page makes is recorded, and any that would leave 127.0.0.1 is blocked and
recorded as such, so a test can fail on it. Absent pieces skip the test, saying which."""
from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:  # the package may be absent: the test then skips (see _playwright_or_skip)
    from playwright.async_api import Page, Route

CHROMIUM = os.environ.get("TEAMINBOX_TEST_CHROMIUM", "/usr/bin/chromium")
LOOPBACK = "127.0.0.1"
# Page-side recorder of content-security-policy violations (an init script runs before
# the page's own scripts and is not subject to its policy).
_RECORD_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.effectiveDirective} ${e.blockedURI}`);
});
"""


@dataclass
class Traffic:
    """What a page asked for: every URL, and those blocked for leaving the loopback."""
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    websockets: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def off_loopback(self) -> list[str]:
        return [u for u in self.requests + self.websockets if not on_loopback(u)] + self.blocked


def on_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or parts.hostname == LOOPBACK


def _playwright_or_skip():
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)) and shutil.which(CHROMIUM) is None:
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's package (apt-get install -y chromium)")
    try:
        from playwright.async_api import async_playwright
    except ImportError as error:
        pytest.skip(f"the playwright package is not installed ({error}): ./dev installs it from the lock")
    return async_playwright


@asynccontextmanager
async def loopback_page() -> AsyncIterator[tuple[Page, Traffic]]:
    """(a Playwright Page, its Traffic) in a fresh headless Chromium that can reach only
    127.0.0.1: its resolver knows no other name, and each request off it is aborted."""
    async_playwright = _playwright_or_skip()
    async with async_playwright() as playwright:
        try:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True,
                args=[
                    # every host name but the loopback's fails to resolve: blocked below the page too
                    f"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE {LOOPBACK}",
                    "--disable-background-networking", "--disable-component-update", "--no-first-run",
                    "--disable-dev-shm-usage",
                ],
            )
        except Exception as error:  # the browser is there (checked before): not starting is a failure
            pytest.fail(f"Chromium at {CHROMIUM} did not start under Playwright: {error}")
        traffic = Traffic()
        try:
            context = await browser.new_context(service_workers="block")
            await context.add_init_script(_RECORD_CSP)

            async def confine(route: Route) -> None:
                url = route.request.url
                if on_loopback(url):
                    await route.continue_()
                else:
                    traffic.blocked.append(url)
                    await route.abort("blockedbyclient")

            await context.route("**/*", confine)
            context.on("request", lambda request: traffic.requests.append(request.url))
            page = await context.new_page()
            page.on("websocket", lambda socket: traffic.websockets.append(socket.url))
            page.on("pageerror", lambda error: traffic.page_errors.append(str(error)))
            page.on("console", lambda m: traffic.console_errors.append(m.text) if m.type == "error" else None)
            yield page, traffic
        finally:
            await browser.close()
