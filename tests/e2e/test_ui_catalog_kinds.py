"""The catalog's kinds and owners (columns and filters) and an asset's resources, in Chromium.

``tessera dev`` serves one small location (``tests/resources/srv_catalog.py``) whose assets
have kinds, owners and resources.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import TesseraServer, one_module_server

Screenshot = Callable[..., Path]


@pytest.fixture(scope="module")
def catalog_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TesseraServer]:
    with one_module_server(tmp_path_factory, "srv_catalog") as server:
        yield server


def rows(page: Page) -> set[str]:
    return set(page.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.asset)"))


def test_catalog_shows_and_filters_kinds_and_owners(
    catalog_server: TesseraServer, browser_page: Page, save_screenshot: Screenshot
) -> None:
    page = browser_page
    page.goto(f"{catalog_server.url}/#/assets")
    expect(page.locator("tbody tr")).to_have_count(3)
    orders = page.locator('tr[data-asset="orders"]')
    expect(orders.locator(".col-kinds .chip-kind")).to_have_text(["python", "snowflake"])
    expect(orders.locator(".col-owners .chip-owner")).to_have_text(
        ["team:data", "alice@example.com"]
    )
    expect(page.locator('#filter-kind option[value="python"]')).to_have_text("python (2)")
    save_screenshot(page, "catalog-kinds")

    page.select_option("#filter-kind", "snowflake")
    expect(page.locator("tbody tr")).to_have_count(1)
    assert rows(page) == {"orders"}
    assert "kind=snowflake" in page.url

    page.select_option("#filter-kind", "")
    page.select_option("#filter-owner", "team:data")
    expect(page.locator("tbody tr")).to_have_count(2)
    assert rows(page) == {"orders", "files"}

    # A chip is a link to the catalog filtered by it.
    page.select_option("#filter-owner", "")
    expect(page.locator("tbody tr")).to_have_count(3)
    page.locator('tr[data-asset="summary"] .chip-owner').click()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("#filter-owner")).to_have_value("bob@example.com")


def test_asset_page_lists_kinds_owners_and_resources(
    catalog_server: TesseraServer, browser_page: Page, save_screenshot: Screenshot
) -> None:
    page = browser_page
    page.goto(f"{catalog_server.url}/#/assets/orders")
    expect(page.locator(".kv .chip-kind")).to_have_text(["python", "snowflake"])
    expect(page.locator(".kv")).not_to_contain_text("dagster/kind/")  # shown as kinds only
    resource = page.locator('#resources li[data-resource="warehouse"]')
    expect(resource).to_contain_text("srv_catalog.Warehouse")
    expect(resource).to_contain_text("A SQL warehouse.")
    expect(resource.locator("summary")).to_have_text("Config: dsn, pool_size")
    metadata = page.locator(".kv .metadata-table")
    expect(metadata.locator('tr[data-metadata="reload"] td').first).to_have_text(
        "nightly · catalog"
    )
    expect(metadata.locator('tr[data-metadata="loader"] td').first).to_have_text(
        "codeloc._definitions.Definitions"
    )
    expect(metadata.locator('tr[data-metadata="landed"] .timestamp')).to_contain_text("2024-05-01")
    save_screenshot(page, "asset-resources")

    page.goto(f"{catalog_server.url}/#/assets/files")
    store = page.locator('#resources li[data-resource="store"]')
    expect(store).to_contain_text("An object store.")
    expect(store.locator("summary")).to_have_text("Config: bucket")
