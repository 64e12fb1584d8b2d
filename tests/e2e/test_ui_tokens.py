"""The web UI against a server that needs API tokens: it asks for one, keeps it, and asks
again when a call needs a wider scope than the saved token has."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import TesseraServer, _clean_env, free_port, start_server, stop_server


@pytest.fixture(scope="module")
def reader_and_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, TesseraServer]]:
    """``tessera server`` on a fresh database holding one token of scope read."""
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

    tessera("migrate")
    secret = tessera("token", "create", "--scope", "read").strip().splitlines()[-1]
    port = free_port()
    server = start_server(
        ["server", "--database-url", database, "--port", str(port)],
        workdir,
        lambda c: c.get("/api/v1/health").status_code == 200,
        port=port,
    )
    yield secret, server
    stop_server(server)


def test_the_ui_asks_for_a_token_and_uses_it(
    reader_and_server: tuple[str, TesseraServer], browser_page: Page
) -> None:
    secret, server = reader_and_server
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
