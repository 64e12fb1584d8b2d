"""The web UI against a server that needs API tokens: it asks for one, keeps it, and asks
again when a call needs a wider scope than the saved token has; and the ``#/tokens`` page,
where an admin makes tokens (the secret shown once) and revokes them."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Dialog, Page, Route, expect

from tests.e2e.conftest import TesseraServer, _clean_env, free_port, start_server, stop_server


@dataclass
class TokenServer:
    server: TesseraServer
    reader: str  # the secret of a token of scope read
    admin: str  # the secret of a token of scope admin


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenServer]:
    """``tessera server`` on a fresh database holding a token of scope read and one of scope
    admin, both made with ``tessera token create``."""
    workdir = tmp_path_factory.mktemp("tessera-tokens")
    database = f"sqlite:///{workdir / 'tessera.db'}"

    def tessera(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "server.cli", *args, "--database-url", database],
            cwd=workdir,
            env=_clean_env(workdir),
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout

    def make_token(scope: str, name: str) -> str:
        out = tessera("token", "create", "--scope", scope, "--name", name)
        return out.strip().splitlines()[-1]

    tessera("migrate")
    reader = make_token("read", "reader")
    admin = make_token("admin", "root")
    port = free_port()
    server = start_server(
        ["server", "--database-url", database, "--port", str(port)],
        workdir,
        lambda c: c.get("/api/v1/health").status_code == 200,
        port=port,
    )
    yield TokenServer(server, reader, admin)
    stop_server(server)


def test_the_ui_asks_for_a_token_and_uses_it(token_server: TokenServer, browser_page: Page) -> None:
    secret, server = token_server.reader, token_server.server
    page = browser_page
    page.goto(f"{server.url}/#/runs")
    banner = page.locator("#auth-banner")
    expect(banner).to_contain_text("This server needs an API token")
    banner.locator("input").fill(secret)
    banner.locator("input").press("Enter")
    expect(banner).to_be_hidden()
    expect(page.locator(".empty")).to_contain_text("No runs.")
    assert page.evaluate("localStorage.getItem('tessera.apiToken')") == secret

    # A call beyond the token's scope: the UI says which scope it needs and asks again.
    status = page.evaluate(
        """async () => {
          const { api } = await import("/ui/lib/api.js");
          try { await api("/tokens"); return 200; } catch (err) { return err.status; }
        }"""
    )
    assert status == 403
    expect(banner).to_contain_text("This needs an API token with scope 'admin'")


def test_a_late_refusal_of_the_old_token_does_not_ask_again(
    token_server: TokenServer, browser_page: Page
) -> None:
    """A request sent without a token, answered 401 only after the user saved one, is about
    no token: the prompt stays closed."""
    server, page = token_server.server, browser_page
    page.goto(f"{server.url}/#/runs")
    banner = page.locator("#auth-banner")
    expect(banner).to_contain_text("This server needs an API token")
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)  # answered below, once the new token is saved

    page.route("**/api/v1/code-locations", hold)
    page.evaluate(
        """() => { window.lateAnswer = import("/ui/lib/api.js").then(({ api }) =>
             api("/code-locations").then(() => 200, (err) => err.status)); }"""
    )
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the request never left"
    banner.locator("input").fill(token_server.reader)
    banner.locator("input").press("Enter")
    expect(banner).to_be_hidden()
    for route in held:
        route.continue_()
    assert page.evaluate("() => window.lateAnswer") == 401
    expect(banner).to_be_hidden()
    expect(page.locator(".empty")).to_contain_text("No runs.")


def csp_refusals(page: Page) -> list[str]:
    """The Content-Security-Policy refusals the page reports from now on."""
    refused: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    page.on("console", on_console)
    return refused


def assets_status(server: TesseraServer, secret: str) -> int:
    with server.client() as client:
        answer = client.get("/api/v1/assets", headers={"Authorization": f"Bearer {secret}"})
        return answer.status_code


def test_an_admin_creates_and_revokes_a_token_in_the_page(
    token_server: TokenServer, browser_page: Page, save_screenshot: Callable[[Page, str], Path]
) -> None:
    server, page = token_server.server, browser_page
    refused = csp_refusals(page)
    page.goto(f"{server.url}/#/tokens")
    banner = page.locator("#auth-banner")
    banner.locator("input").fill(token_server.admin)
    banner.locator("input").press("Enter")
    expect(page.locator("[data-nav=tokens]")).to_have_attribute("aria-current", "page")
    rows = page.locator(".tokens-table tbody tr")
    expect(rows.filter(has_text="reader")).to_contain_text("read")
    expect(rows.filter(has_text="root")).to_have_attribute("data-status", "active")

    # Locations go only with scope launch.
    form = page.locator(".token-create")
    locations = form.get_by_label("Locations")
    expect(locations).to_be_disabled()
    form.get_by_label("Scope").select_option("launch")
    expect(locations).to_be_enabled()
    locations.fill("etl, ml")
    form.get_by_label("Name").fill("ci")

    # A refused expiry is shown with the server's reason, and nothing is made.
    form.get_by_label("Expires").fill("yesterday")
    form.get_by_role("button", name="Create token").click()
    expect(form.locator(".error-box")).to_contain_text("neither a duration")
    expect(rows).to_have_count(2)

    form.get_by_label("Expires").fill("30d")
    form.get_by_role("button", name="Create token").click()
    box = page.locator(".secret-box")
    expect(box).to_contain_text("shown only once")
    expect(form.locator(".error-box")).to_have_count(0)
    secret = box.locator("input").input_value()
    assert secret.startswith("tessera_")
    token_id = box.get_attribute("data-token")
    assert token_id is not None
    row = page.locator(f'.tokens-table tr[data-token="{token_id}"]')
    expect(row).to_contain_text("ci")
    expect(row.locator(".token-scope")).to_have_text("launch")
    expect(row.locator(".token-locations")).to_have_text("etl, ml")
    expect(row).to_have_attribute("data-status", "active")
    expect(rows.filter(has_text="reader").locator(".token-locations")).to_have_text("all")
    assert assets_status(server, secret) == 200
    save_screenshot(page, "tokens")

    # Shown once: back on the page, the secret is nowhere.
    page.goto(f"{server.url}/#/runs")
    page.goto(f"{server.url}/#/tokens")
    expect(row).to_be_visible()
    expect(page.locator(".secret-box")).to_have_count(0)
    shown = page.evaluate(
        """(s) => document.body.innerText.includes(s)
          || [...document.querySelectorAll("input")].some((i) => i.value === s)""",
        secret,
    )
    assert not shown

    # Revoking asks first; declined, the token stays in force.
    questions: list[str] = []

    def answer(dialog: Dialog, accept: bool) -> None:
        questions.append(dialog.message)
        if accept:
            dialog.accept()
        else:
            dialog.dismiss()

    page.once("dialog", lambda d: answer(d, accept=False))
    row.get_by_role("button", name="Revoke").click()
    for _ in range(50):  # the dialog event reaches Python while Playwright waits
        if questions:
            break
        page.wait_for_timeout(100)
    assert len(questions) == 1, questions
    assert token_id in questions[0]
    assert "'ci'" in questions[0]
    expect(row).to_have_attribute("data-status", "active")
    assert assets_status(server, secret) == 200

    page.once("dialog", lambda d: answer(d, accept=True))
    row.get_by_role("button", name="Revoke").click()
    expect(row).to_have_attribute("data-status", "revoked")
    expect(row.get_by_role("button", name="Revoke")).to_have_count(0)
    assert assets_status(server, secret) == 401
    save_screenshot(page, "tokens-revoked")
    expect(rows.filter(has_text="root")).to_have_attribute("data-status", "active")
    assert refused == []


def test_the_page_with_a_read_token_says_it_needs_admin(
    token_server: TokenServer, browser_page: Page
) -> None:
    server, page = token_server.server, browser_page
    refused = csp_refusals(page)
    page.goto(f"{server.url}/api/v1/health")  # the origin, without the UI asking for a token
    page.evaluate("(t) => localStorage.setItem('tessera.apiToken', t)", token_server.reader)
    page.goto(f"{server.url}/#/tokens")
    error = page.locator("main .error-box")
    expect(error).to_contain_text("this needs scope 'admin'")
    expect(page.locator(".needs-admin")).to_contain_text("scope 'admin'")
    expect(page.locator(".token-create")).to_have_count(0)
    banner = page.locator("#auth-banner")
    expect(banner).to_contain_text("This needs an API token with scope 'admin'")

    # An admin token pasted there opens the page.
    banner.locator("input").fill(token_server.admin)
    banner.locator("input").press("Enter")
    expect(page.locator(".tokens-table")).to_be_visible()
    expect(page.locator(".token-create")).to_be_visible()
    expect(page.locator("main .error-box")).to_have_count(0)
    assert refused == []
