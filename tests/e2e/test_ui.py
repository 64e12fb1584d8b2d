"""The web UI in a real browser (headless Chromium) against real servers.

Each page is screenshotted into ``test-artifacts/ui/``. The end-to-end path is the one the
source document describes: open the catalog, open the two-location example's lineage,
select ``code_location_2_asset``'s upstream and itself, Materialize, watch the run succeed,
see the new materialization.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import (
    VERSION_FILE,
    WIDE_GRAPH_EXTRAS,
    WIDE_GRAPH_GROUPS,
    WIDE_GRAPH_SIZE,
    TesseraServer,
)

Screenshot = Callable[..., Path]
RUN_TIMEOUT = 30_000  # ms
WIDE_GRAPH_ASSETS = WIDE_GRAPH_SIZE + len(WIDE_GRAPH_EXTRAS)
ALL_ASSETS = WIDE_GRAPH_ASSETS + 2 + 6  # and the two-location example, and the cereals


def open_ui(page: Page, server: TesseraServer, route: str) -> None:
    page.goto(f"{server.url}/#/{route}")


def run_id_of(page: Page) -> str:
    match = re.search(r"#/runs/([0-9a-f-]{36})$", page.url)
    assert match, f"not on a run page: {page.url}"
    return match.group(1)


def wait_for_run_status(page: Page, status: str, timeout: int = RUN_TIMEOUT) -> None:
    expect(page.locator(f'#run-status [data-status="{status}"]')).to_be_visible(timeout=timeout)


def launch_and_wait(client: httpx.Client, selection: Any) -> list[dict[str, Any]]:
    answer = client.post("/api/v1/runs", json={"selection": selection})
    assert answer.status_code == 201, answer.text
    runs: list[dict[str, Any]] = answer.json()["runs"]
    deadline = time.monotonic() + RUN_TIMEOUT / 1000
    while time.monotonic() < deadline:
        runs = [client.get(f"/api/v1/runs/{r['run_id']}").json() for r in runs]
        if all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in runs):
            return runs
        time.sleep(0.1)
    raise AssertionError(f"runs did not finish: {runs}")


def run_count(client: httpx.Client) -> int:
    return len(client.get("/api/v1/runs", params={"limit": 1000}).json()["runs"])


# -- a server without code locations ---------------------------------------------------------


def test_root_serves_the_ui_and_the_api_docs_remain(tessera_empty_server: TesseraServer) -> None:
    with tessera_empty_server.client() as client:
        index = client.get("/")
        assert index.status_code == 200
        assert index.headers["content-type"].startswith("text/html")
        assert '<script type="module" src="/ui/app.js">' in index.text
        for asset in ("/ui/app.js", "/ui/style.css", "/ui/lib/layout.js", "/ui/pages/graph.js"):
            assert client.get(asset).status_code == 200, asset
        assert client.get("/docs").status_code == 200
        assert "/api/v1/assets" in client.get("/openapi.json").json()["paths"]


def test_pages_of_an_empty_server(
    tessera_empty_server: TesseraServer, browser_page: Page, save_screenshot: Screenshot
) -> None:
    page = browser_page
    page.goto(tessera_empty_server.url)
    expect(page.locator("#asset-count")).to_have_text("0 assets")
    expect(page.locator(".empty")).to_contain_text("No code location has loaded any asset yet")
    save_screenshot(page, "empty-catalog")

    open_ui(page, tessera_empty_server, "locations")
    expect(page.locator(".empty")).to_contain_text("No code locations.")
    save_screenshot(page, "empty-locations")

    open_ui(page, tessera_empty_server, "graph")
    expect(page.locator(".graph-notice")).to_contain_text("No assets to show")

    open_ui(page, tessera_empty_server, "runs")
    expect(page.locator(".empty")).to_contain_text("No runs.")


def test_layout_of_1000_nodes_finishes(
    tessera_empty_server: TesseraServer, browser_page: Page, ui_artifacts: Path
) -> None:
    """The lineage layout, timed in the browser on a random graph of 1,000 assets."""
    page = browser_page
    page.goto(tessera_empty_server.url)
    result = page.evaluate(
        """async () => {
          const { layoutGraph } = await import("/ui/lib/layout.js");
          let seed = 42;
          const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
          const nodes = [], edges = [];
          for (let i = 0; i < 1000; i++) {
            nodes.push({ id: `n${i}` });
            const parents = Math.floor(rnd() * 4);
            for (let j = 0; j < parents && i > 0; j++) {
              edges.push([`n${Math.floor(rnd() * i)}`, `n${i}`]);
            }
          }
          const started = performance.now();
          const layout = layoutGraph(nodes, edges);
          const ms = performance.now() - started;
          const boxes = [...layout.nodes.values()];
          const byLayer = new Map();
          for (const b of boxes) byLayer.set(b.layer, [...(byLayer.get(b.layer) || []), b]);
          let overlaps = 0;
          for (const column of byLayer.values()) {
            column.sort((a, b) => a.y - b.y);
            for (let i = 1; i < column.length; i++) {
              if (column[i].y < column[i - 1].y + column[i - 1].height) overlaps++;
            }
          }
          return {
            ms, placed: boxes.length, edges: edges.length, routed: layout.edges.length,
            finite: boxes.every((b) => Number.isFinite(b.x) && Number.isFinite(b.y)),
            overlaps, layers: layout.layers, crossings: layout.crossings,
          };
        }"""
    )
    report = (
        f"layoutGraph: {result['placed']} nodes, {result['edges']} edges, "
        f"{result['layers']} layers, {result['crossings']} crossings, {result['ms']:.1f} ms\n"
    )
    (ui_artifacts / "layout-1000.txt").write_text(report)
    print(report)
    assert result["placed"] == 1000
    assert result["finite"]
    assert result["overlaps"] == 0
    assert 0 < result["routed"] <= result["edges"]


# -- tessera dev with the examples -----------------------------------------------------------


def test_catalog_lists_every_location(
    tessera_dev: TesseraServer, browser_page: Page, save_screenshot: Screenshot
) -> None:
    page = browser_page
    page.goto(tessera_dev.url)
    expect(page.locator("#asset-count")).to_have_text(f"{ALL_ASSETS} assets")
    expect(page.locator("tbody tr")).to_have_count(100)
    save_screenshot(page, "catalog")

    page.get_by_role("button", name="Next →").click()
    expect(page.locator(".pager")).to_contain_text("101\u2013200")

    page.fill("#asset-search", "code_location")
    expect(page.locator("tbody tr")).to_have_count(2)
    row = page.locator('tr[data-asset="code_location_2_asset"]')
    expect(row).to_contain_text("code_location_2")
    expect(row.locator(".badge")).to_have_count(1)

    page.fill("#asset-search", "")
    page.select_option("#filter-location", "cereals")
    expect(page.locator("tbody tr")).to_have_count(6)
    keys = set(page.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.asset)"))
    assert keys == {
        "cereals",
        "sugary_cereals",
        "nabisco_cereals",
        "shopping_list",
        "top_cereals",
        "cereal_report",
    }
    assert "location=cereals" in page.url

    page.select_option("#filter-location", "")
    page.select_option("#filter-group", "reports")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("#view-lineage")).to_have_attribute("href", "#/graph?group=reports")


def test_lineage_selection_materializes_across_locations(
    tessera_dev: TesseraServer, browser_page: Page, save_screenshot: Screenshot
) -> None:
    page = browser_page
    open_ui(page, tessera_dev, "graph?group=default")
    expect(page.locator(".node")).to_have_count(2)
    cross = page.locator(
        '.edge-cross[data-from="code_location_1_asset"][data-to="code_location_2_asset"]'
    )
    expect(cross).to_have_count(1)

    page.click('[data-node="code_location_1_asset"]')
    page.click('[data-node="code_location_2_asset"]', modifiers=["Shift"])
    expect(page.locator(".selection-count")).to_have_attribute("data-count", "2")
    expect(page.locator(".node.selected")).to_have_count(2)
    expect(page.locator("#materialize-selection")).to_have_text("Materialize selected (2)")
    save_screenshot(page, "lineage-selection")

    page.click("#materialize-selection")
    page.wait_for_url(re.compile(r"#/runs/[0-9a-f-]{36}$"))
    run_id = run_id_of(page)
    wait_for_run_status(page, "SUCCESS")
    # The run of code_location_2 waits for the run of code_location_1: both succeeded.
    expect(page.locator("#run-assets")).to_have_text("code_location_2_asset")
    expect(page.locator('#upstream-runs [data-status="SUCCESS"]')).to_have_count(1)
    expect(page.locator('tr[data-step="code_location_2_asset"]')).to_have_attribute(
        "data-status", "SUCCESS"
    )
    expect(page.locator('#event-log tr[data-type="ASSET_MATERIALIZATION"]')).to_have_count(1)
    expect(page.locator('#event-log tr[data-type="RUN_SUCCESS"]')).to_have_count(1)
    save_screenshot(page, "run-success")

    with tessera_dev.client() as client:
        latest = client.get("/api/v1/assets/code_location_2_asset").json()["latest_materialization"]
    assert latest["run_id"] == run_id

    page.click('#run-assets a:has-text("code_location_2_asset")')
    latest_card = page.locator("#latest-materialization")
    expect(latest_card.locator(f'a[href="#/runs/{run_id}"]')).to_have_text(run_id[:8])
    expect(latest_card).to_contain_text(latest["data_version"])
    expect(latest_card).to_contain_text("tessera/data_version")
    expect(page.locator(f'#history a[href="#/runs/{run_id}"]')).to_have_count(1)
    expect(page.locator("#history td.data-version").first).to_have_text(latest["data_version"])
    upstream = page.locator('#upstream li[data-asset="code_location_1_asset"]')
    expect(upstream).to_contain_text("other location")
    save_screenshot(page, "asset-details")


def test_materialize_from_the_asset_page_plots_metadata(
    tessera_dev: TesseraServer, browser_page: Page, save_screenshot: Screenshot
) -> None:
    page = browser_page
    for _ in range(2):
        open_ui(page, tessera_dev, "assets/cereals")
        expect(page.locator("#materialize")).to_have_text("Materialize")
        page.click("#materialize")
        page.wait_for_url(re.compile(r"#/runs/[0-9a-f-]{36}$"))
        wait_for_run_status(page, "SUCCESS")
        expect(page.locator('#event-log tr[data-type="LOG"]')).to_contain_text("loaded 7 cereals")

    open_ui(page, tessera_dev, "assets/cereals")
    expect(page.locator('#latest-materialization tr[data-metadata="rows"]')).to_contain_text("7")
    chart = page.locator('#plots figure[data-metadata="rows"]')
    expect(chart.locator("circle")).to_have_count(2, timeout=5000)
    expect(page.locator("#code-version")).to_have_text("1")
    expect(page.locator(".badges .badge-fresh")).to_have_count(1)
    # Materialized with the code version it has now: no "code version changed" notice.
    expect(page.locator("#code-version-changed")).to_have_count(0)
    save_screenshot(page, "asset-metadata-plot")


def test_config_form_is_validated_before_launch(
    tessera_dev: TesseraServer, browser_page: Page, save_screenshot: Screenshot
) -> None:
    page = browser_page
    with tessera_dev.client() as client:
        # The run launched at the end reads `cereals`: stored here, so that this test does
        # not depend on an earlier one having materialized it.
        assert launch_and_wait(client, ["cereals"])[0]["status"] == "SUCCESS"
        before = run_count(client)
        open_ui(page, tessera_dev, "assets/top_cereals")
        page.click("#materialize")
        dialog = page.locator("dialog.modal")
        expect(dialog).to_be_visible()
        expect(dialog.locator('[name="limit"]')).to_have_value("3")  # the schema's default

        dialog.locator('[name="limit"]').fill("many")
        dialog.get_by_role("button", name="Launch run").click()
        expect(dialog.locator(".field-error:visible")).to_have_text("limit must be an integer")
        expect(dialog.locator('[name="limit"]')).to_have_attribute("aria-invalid", "true")
        save_screenshot(page, "config-form-error", full_page=False)
        assert run_count(client) == before

        # The JSON editor: checked against the schema here, then by the server.
        dialog.get_by_role("button", name="JSON").click()
        editor = dialog.locator('textarea[name="run_config"]')
        editor.fill('{"ops": {"top_cereals": {"config": {"limit": "x"}}}}')
        dialog.get_by_role("button", name="Launch run").click()
        expect(dialog.locator(".dialog-error")).to_contain_text(
            "ops.top_cereals.config.limit must be an integer"
        )
        editor.fill('{"ops": {"top_cereals": {"config": {"limit": 2}}, "cereals": {}}}')
        dialog.get_by_role("button", name="Launch run").click()
        expect(dialog.locator(".dialog-error")).to_contain_text("not among the selected assets")
        save_screenshot(page, "config-server-error", full_page=False)
        assert run_count(client) == before

        dialog.get_by_role("button", name="Form").click()
        dialog.locator('[name="limit"]').fill("2")
        dialog.get_by_role("button", name="Launch run").click()
        page.wait_for_url(re.compile(r"#/runs/[0-9a-f-]{36}$"))
        wait_for_run_status(page, "SUCCESS")
        run = client.get(f"/api/v1/runs/{run_id_of(page)}").json()
    assert run["run_config"]["ops"]["top_cereals"]["config"]["limit"] == 2
    expect(page.locator("pre.json")).to_contain_text('"limit": 2')


def test_a_step_without_its_upstream_output_shows_as_skipped(
    tessera_dev: TesseraServer, browser_page: Page, save_screenshot: Screenshot
) -> None:
    page = browser_page
    with tessera_dev.client() as client:
        [run] = launch_and_wait(client, ["optional_asset", "after_optional"])
    assert run["status"] == "SUCCESS"
    open_ui(page, tessera_dev, f"runs/{run['run_id']}")
    wait_for_run_status(page, "SUCCESS")
    expect(page.locator('tr[data-step="optional_asset"]')).to_have_attribute(
        "data-status", "SUCCESS"
    )
    skipped = page.locator('tr[data-step="after_optional"]')
    expect(skipped).to_have_attribute("data-status", "SKIPPED")
    expect(skipped.locator(".step-status")).to_have_text("SKIPPED")
    expect(page.locator('#event-log tr[data-type="STEP_SKIPPED"]')).to_contain_text(
        "'optional_asset' was not materialized"
    )
    expect(page.locator('#event-log tr[data-type="ASSET_MATERIALIZATION"]')).to_have_count(0)
    save_screenshot(page, "run-step-skipped")


def test_runs_list_filters_by_status(
    tessera_dev: TesseraServer, browser_page: Page, save_screenshot: Screenshot
) -> None:
    page = browser_page
    with tessera_dev.client() as client:
        [run] = launch_and_wait(client, ["code_location_1_asset"])
    assert run["status"] == "SUCCESS"
    open_ui(page, tessera_dev, "runs")
    expect(page.locator(f'tr[data-run="{run["run_id"]}"]')).to_have_attribute(
        "data-status", "SUCCESS"
    )
    save_screenshot(page, "runs")

    page.click('.filter-chip[data-status="FAILURE"]')
    expect(page.locator(f'tr[data-run="{run["run_id"]}"]')).to_have_count(0)
    assert page.url.endswith("#/runs?status=FAILURE")
    page.click('.filter-chip[data-status="SUCCESS"]')
    expect(page.locator(f'tr[data-run="{run["run_id"]}"]')).to_have_count(1)
    statuses = set(page.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.status)"))
    assert statuses <= {"SUCCESS", "FAILURE"}


def test_cancel_a_running_run(
    tessera_dev: TesseraServer, browser_page: Page, save_screenshot: Screenshot
) -> None:
    page = browser_page
    open_ui(page, tessera_dev, "assets/slow_asset")
    page.click("#materialize")
    page.wait_for_url(re.compile(r"#/runs/[0-9a-f-]{36}$"))
    wait_for_run_status(page, "STARTED")
    # The event log fills in while the run is live.
    expect(page.locator('#event-log tr[data-type="STEP_START"]')).to_have_count(1)
    expect(page.locator('tr[data-step="slow_asset"]')).to_have_attribute("data-status", "RUNNING")
    save_screenshot(page, "run-live")

    page.click("#cancel-run")
    wait_for_run_status(page, "CANCELED", timeout=20_000)
    expect(page.locator("#cancel-run")).to_have_count(0)
    expect(page.locator('#event-log tr[data-type="RUN_CANCELED"]')).to_have_count(1)
    save_screenshot(page, "run-canceled")


def test_code_locations_page_and_reload(
    tessera_dev: TesseraServer, browser_page: Page, save_screenshot: Screenshot
) -> None:
    page = browser_page
    open_ui(page, tessera_dev, "locations")
    cards = page.locator("article.location")
    expect(cards).to_have_count(5)
    expect(page.locator('.loc-status[data-status="loaded"]')).to_have_count(4)
    broken = page.locator('[data-location="broken_location"]')
    expect(broken.locator(".loc-status")).to_have_text("error")
    # The load error in full: the exception and its traceback, naming the file.
    error = broken.locator(".load-error")
    expect(error).to_contain_text("RuntimeError: broken_location is broken on purpose")
    expect(error).to_contain_text("Traceback")
    expect(error).to_contain_text("broken_location.py")
    expect(page.locator("#locations-alert")).to_have_text("1")
    expect(page.locator('[data-location="cereals"] .asset-count')).to_have_text("6")
    expect(page.locator('[data-location="wide_graph"] .asset-count')).to_have_text(
        str(WIDE_GRAPH_ASSETS)
    )
    save_screenshot(page, "locations")

    page.click('[data-reload="cereals"]')
    expect(page.locator("#toasts")).to_contain_text("cereals: loaded, 6 assets")


def test_large_graph_starts_collapsed_and_expands(
    tessera_dev: TesseraServer, browser_page: Page, save_screenshot: Screenshot
) -> None:
    page = browser_page
    open_ui(page, tessera_dev, "graph")
    expect(page.locator(".graph-notice")).to_contain_text("groups are collapsed")
    groups = page.locator(".node-group")
    # Per location: wide_0 … wide_9 and the extras'; cereals, shopping, reports; default twice.
    expect(groups).to_have_count(WIDE_GRAPH_GROUPS + len(set(WIDE_GRAPH_EXTRAS.values())) + 5)
    between = '[data-from="group:default@code_location_1"][data-to="group:default@code_location_2"]'
    expect(page.locator(f".edge-cross{between}")).to_have_count(1)
    save_screenshot(page, "lineage-collapsed", full_page=False)

    page.click('[data-node="group:wide_3@wide_graph"]')
    per_group = WIDE_GRAPH_SIZE // WIDE_GRAPH_GROUPS
    expect(page.locator(".node:not(.node-group)")).to_have_count(per_group)

    page.uncheck("#collapse-groups")
    expect(page.locator(".node")).to_have_count(ALL_ASSETS)
    layout_ms = float(page.locator("main").get_attribute("data-layout-ms") or "nan")
    print(f"lineage page: {ALL_ASSETS} assets laid out in {layout_ms:.1f} ms")
    assert layout_ms >= 0
    save_screenshot(page, "lineage-all", full_page=False)

    open_ui(page, tessera_dev, "graph?focus=wide_0500&depth=1")
    expect(page.locator(".node-focus")).to_have_count(1)
    with tessera_dev.client() as client:
        asset = client.get("/api/v1/assets/wide_0500").json()
    expected = {"wide_0500", *("/".join(k) for k in asset["deps"] + asset["dependents"])}
    nodes = set(page.locator(".node").evaluate_all("ns => ns.map(n => n.dataset.node)"))
    assert nodes == expected
    save_screenshot(page, "lineage-neighbourhood", full_page=False)


@pytest.mark.parametrize("route", ["assets/no_such_asset", "runs/00000000-0000-0000-0000-0000"])
def test_missing_things_show_the_servers_detail(
    tessera_dev: TesseraServer, browser_page: Page, route: str
) -> None:
    open_ui(browser_page, tessera_dev, route)
    expect(browser_page.locator(".error-detail")).to_contain_text("no ")


def test_code_version_change_is_indicated(
    tessera_dev: TesseraServer, browser_page: Page, save_screenshot: Screenshot
) -> None:
    """Last in the file: it restarts the wide_graph location with new code."""
    page = browser_page
    with tessera_dev.client() as client:
        [run] = launch_and_wait(client, ["versioned_asset"])
        assert run["status"] == "SUCCESS"
        open_ui(page, tessera_dev, "assets/versioned_asset")
        expect(page.locator("#code-version")).to_have_text("1")
        expect(page.locator("#code-version-changed")).to_have_count(0)

        (tessera_dev.workdir / VERSION_FILE).write_text("2")
        tessera_dev.kill_location("wide_graph")  # tessera dev starts it again, new code
        deadline = time.monotonic() + 45
        while client.get("/api/v1/assets/versioned_asset").json()["code_version"] != "2":
            assert time.monotonic() < deadline, "the location did not come back with new code"
            time.sleep(0.25)

    # The open page notices by itself (it polls the asset).
    notice = page.locator("#code-version-changed")
    expect(notice).to_contain_text("Code version changed since the last materialization")
    expect(notice).to_contain_text("materialized with 1, the code is now at 2")
    expect(page.locator("#code-version")).to_have_text("2")
    save_screenshot(page, "asset-code-version-changed")
