"""The UI's Materialize on an asset of a multi-asset that cannot subset.

The server refuses a run of part of such a multi-asset (422), so the UI does not offer one:
its asset page says which multi-asset the asset runs with, and Materialize selects all of it
and says what it added. A subsettable multi-asset materializes just the asset asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import TesseraServer, one_module_server
from tests.e2e.test_ui import open_ui, run_id_of, wait_for_run_status


@pytest.fixture(scope="module")
def multi_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TesseraServer]:
    """``tessera dev`` with ``tests/resources/srv_multi_assets.py`` as its one location."""
    with one_module_server(tmp_path_factory, "srv_multi_assets") as server:
        yield server


def _run_keys(server: TesseraServer, run_id: str) -> list[str]:
    with server.client() as client:
        run = client.get(f"/api/v1/runs/{run_id}").json()
        events = client.get(f"/api/v1/runs/{run_id}/events", params={"limit": 1000}).json()
    materialized = sorted(
        "/".join(e["asset_key"]) for e in events if e["type"] == "ASSET_MATERIALIZATION"
    )
    assert sorted("/".join(k) for k in run["asset_keys"]) == materialized
    return materialized


def test_materialize_on_part_of_a_multi_asset_that_cannot_subset_runs_all_of_it(
    multi_server: TesseraServer, browser_page: Page, save_screenshot: Callable[..., Path]
) -> None:
    page = browser_page
    open_ui(page, multi_server, "assets/a")
    notice = page.locator("#multi-asset-notice")
    expect(notice).to_contain_text("Part of the multi-asset 'ab'")
    expect(notice).to_contain_text("also materializes b")
    button = page.locator("#materialize")
    expect(button).to_have_text("Materialize all 2")
    expect(button).to_have_attribute(
        "title", "Launch a run that materializes the 2 assets of the multi-asset 'ab'"
    )
    save_screenshot(page, "asset-of-a-multi-asset")
    button.click()
    expect(page.locator(".multi-asset-added")).to_contain_text("Also materializing 1 asset: b")
    page.wait_for_url(lambda url: "#/runs/" in url)
    wait_for_run_status(page, "SUCCESS")
    assert _run_keys(multi_server, run_id_of(page)) == ["a", "b"]


def test_materialize_on_a_subsettable_multi_asset_runs_only_that_asset(
    multi_server: TesseraServer, browser_page: Page
) -> None:
    page = browser_page
    open_ui(page, multi_server, "assets/x")
    expect(page.locator("#materialize")).to_have_text("Materialize")
    expect(page.locator("#multi-asset-notice")).to_have_count(0)
    page.click("#materialize")
    page.wait_for_url(lambda url: "#/runs/" in url)
    wait_for_run_status(page, "SUCCESS")
    assert _run_keys(multi_server, run_id_of(page)) == ["x"]


def test_a_direct_launch_of_part_of_the_multi_asset_is_refused_with_its_name(
    multi_server: TesseraServer,
) -> None:
    with multi_server.client() as client:
        answer = client.post("/api/v1/runs", json={"selection": ["b"]})
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert body["multi_asset"] == "ab"
    assert body["missing_keys"] == [["a"]]


def test_a_lineage_selection_of_part_of_the_multi_asset_is_completed(
    multi_server: TesseraServer, browser_page: Page
) -> None:
    page = browser_page
    open_ui(page, multi_server, "graph")
    page.click('[data-node="b"]')
    page.click('[data-node="after_a"]', modifiers=["Shift"])
    expect(page.locator("#materialize-selection")).to_have_text("Materialize selected (2)")
    page.click("#materialize-selection")
    expect(page.locator(".multi-asset-added")).to_contain_text("Also materializing 1 asset: a")
    expect(page.locator(".multi-asset-added")).to_contain_text("'ab' cannot be subset")
    page.wait_for_url(lambda url: "#/runs/" in url)
    wait_for_run_status(page, "SUCCESS")
    assert _run_keys(multi_server, run_id_of(page)) == ["a", "after_a", "b"]
