"""The UI under its Content-Security-Policy, in a real browser: no page needs anything the
policy refuses, and a ``url`` metadata value links only to the web."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.e2e.conftest import TesseraServer

RENDER = """async (value) => {
  const { metadataValue } = await import("/ui/lib/dom.js");
  const el = metadataValue({ kind: "url", value });
  return { tag: el.tagName, text: el.textContent, href: el.getAttribute("href") };
}"""


@pytest.mark.parametrize(
    "value",
    [
        "javascript:alert(document.domain)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:x",
        "file:///etc/passwd",
        "/relative",
        "not a url",
    ],
)
def test_a_url_of_another_scheme_is_text(
    tessera_empty_server: TesseraServer, browser_page: Page, value: str
) -> None:
    browser_page.goto(tessera_empty_server.url)
    rendered: dict[str, Any] = browser_page.evaluate(RENDER, value)
    assert rendered == {"tag": "SPAN", "text": value, "href": None}


@pytest.mark.parametrize("value", ["https://example.com/a?b=c", "http://localhost:3000/x"])
def test_a_web_url_is_a_link(
    tessera_empty_server: TesseraServer, browser_page: Page, value: str
) -> None:
    browser_page.goto(tessera_empty_server.url)
    rendered = browser_page.evaluate(RENDER, value)
    assert rendered == {"tag": "A", "text": value, "href": value}


def test_no_page_breaks_the_policy(tessera_empty_server: TesseraServer, browser_page: Page) -> None:
    refused: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    browser_page.on("console", on_console)
    browser_page.goto(tessera_empty_server.url)
    policy = browser_page.evaluate(
        "() => fetch('/').then((r) => r.headers.get('content-security-policy'))"
    )
    assert "default-src 'self'" in policy
    for route in ("assets", "graph", "runs", "locations", "tokens"):
        browser_page.goto(f"{tessera_empty_server.url}/#/{route}")
        expect(browser_page.locator("main")).not_to_be_empty()
    browser_page.wait_for_timeout(500)
    assert refused == []
