"""Table metadata on the asset page, in Chromium: a column schema is a table of its columns
(name, type, description, constraints), rows are a table of rows, column lineage links the
upstream asset.

``tessera dev`` serves one small location (``tests/resources/srv_tables.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import TesseraServer, one_module_server

Screenshot = Callable[..., Path]


@pytest.fixture(scope="module")
def tables_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TesseraServer]:
    with one_module_server(tmp_path_factory, "srv_tables") as server:
        yield server


def materialize(server: TesseraServer) -> None:
    with server.client() as client:
        response = client.post("/api/v1/runs", json={"selection": ["raw_orders", "orders"]})
        assert response.status_code == 201, response.text
        (run,) = response.json()["runs"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = client.get(f"/api/v1/runs/{run['run_id']}").json()["status"]
            if status in ("SUCCESS", "FAILURE", "CANCELED"):
                break
            time.sleep(0.2)
        assert status == "SUCCESS", server.log_tail()


def test_the_column_schema_is_a_table_of_columns(
    tables_server: TesseraServer, browser_page: Page, save_screenshot: Screenshot
) -> None:
    page = browser_page
    page.goto(f"{tables_server.url}/#/assets/orders")
    schema = page.locator('.kv tr[data-metadata="dagster/column_schema"] .table-schema')
    expect(schema.locator("thead th")).to_have_text(
        ["Column", "Type", "Description", "Constraints"]
    )
    expect(schema.locator("tbody tr")).to_have_count(3)
    order_id = schema.locator('tr[data-column="order_id"] td')
    expect(order_id).to_have_text(["order_id", "int", "The order's id.", "not nullunique"])
    expect(schema.locator('tr[data-column="order_id"] .chip-constraint')).to_have_text(
        ["not null", "unique"]
    )
    expect(schema.locator('tr[data-column="amount"] .chip-constraint')).to_have_text(
        ["amount >= 0"]
    )
    expect(schema.locator('tr[data-column="note"] td').nth(1)).to_have_text("string")
    save_screenshot(page, "asset-column-schema")


def test_a_materializations_rows_and_lineage_show_as_tables(
    tables_server: TesseraServer, browser_page: Page, save_screenshot: Screenshot
) -> None:
    materialize(tables_server)
    page = browser_page
    page.goto(f"{tables_server.url}/#/assets/orders")
    latest = page.locator("#latest-materialization")
    records = latest.locator('tr[data-metadata="preview"] .table-records')
    expect(records.locator("thead th")).to_have_text(["order_id", "amount", "paid", "note"])
    expect(records.locator("tbody tr")).to_have_count(2)
    expect(records.locator("tbody tr").nth(0).locator("td")).to_have_text(
        ["1", "9.5", "true", "null"]
    )
    expect(records.locator("tbody tr").nth(1).locator("td")).to_have_text(
        ["2", "0.25", "false", "gift"]
    )
    expect(
        latest.locator('tr[data-metadata="dagster/column_schema"] tr[data-column="order_id"]')
    ).to_be_visible()
    lineage = latest.locator(
        'tr[data-metadata="dagster/column_lineage"] li[data-column="order_id"]'
    )
    expect(lineage).to_contain_text("raw_orders")
    expect(lineage).to_contain_text("id")
    expect(lineage.locator("a")).to_have_attribute("href", "#/assets/raw_orders")
    save_screenshot(page, "asset-table-records")
