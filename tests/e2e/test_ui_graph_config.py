"""The UI's Materialize on a graph asset whose ops take config: the config dialog opens with
a form of its ops' config (``ops_config_schema``), and the run gets it nested under ``ops``."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import TesseraServer, one_module_server
from tests.e2e.test_ui import open_ui, run_id_of, wait_for_run_status


@pytest.fixture(scope="module")
def graph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TesseraServer]:
    """``tessera dev`` with ``tests/resources/srv_graph_config.py`` as its one location."""
    with one_module_server(tmp_path_factory, "srv_graph_config") as server:
        yield server


def test_the_config_dialog_of_a_graph_asset_takes_its_ops_config(
    graph_server: TesseraServer, browser_page: Page, save_screenshot: Callable[..., Path]
) -> None:
    page = browser_page
    open_ui(page, graph_server, "assets/scaled")
    button = page.locator("#materialize")
    expect(button).to_have_text("Materialize…")
    button.click()
    dialog = page.locator("dialog.modal")
    expect(dialog).to_be_visible()
    k = dialog.locator('[name="inner.ops.scale.config.k"]')
    ratio = dialog.locator('[name="inner.ops.scale.config.ratio"]')
    expect(ratio).to_have_value("0.5")  # the op's default

    # The required field, left empty, is caught before any run.
    dialog.get_by_role("button", name="Launch run").click()
    expect(dialog.locator(".field-error:visible")).to_have_text(
        "inner.ops.scale.config.k is required"
    )
    save_screenshot(page, "graph-ops-config-error", full_page=False)

    # The JSON editor shows the same config as the run config's nested "ops".
    k.fill("4")
    dialog.get_by_role("button", name="JSON").click()
    editor = dialog.locator('textarea[name="run_config"]')
    expect(editor).to_have_value(re.compile(r'"scaled": \{\s*"ops": \{\s*"inner"'))
    bad = {"ops": {"scaled": {"ops": {"inner": {"ops": {"scale": {"config": {"k": "x"}}}}}}}}
    editor.fill(json.dumps(bad))
    dialog.get_by_role("button", name="Launch run").click()
    expect(dialog.locator(".dialog-error")).to_contain_text(
        "ops.scaled.ops.inner.ops.scale.config.k must be an integer"
    )

    dialog.get_by_role("button", name="Form").click()
    ratio.fill("0.25")
    dialog.get_by_role("button", name="Launch run").click()
    page.wait_for_url(re.compile(r"#/runs/[0-9a-f-]{36}$"))
    wait_for_run_status(page, "SUCCESS")
    with graph_server.client() as client:
        run = client.get(f"/api/v1/runs/{run_id_of(page)}").json()
    assert run["run_config"]["ops"] == {
        "scaled": {"ops": {"inner": {"ops": {"scale": {"config": {"k": 4, "ratio": 0.25}}}}}}
    }


def test_the_config_dialog_of_a_multi_asset_has_one_form_under_its_node_name(
    graph_server: TesseraServer, browser_page: Page
) -> None:
    page = browser_page
    open_ui(page, graph_server, "assets/m")
    button = page.locator("#materialize")
    expect(button).to_have_text("Materialize all 2…")
    button.click()
    dialog = page.locator("dialog.modal")
    expect(dialog).to_be_visible()
    expect(dialog.locator('[name="base"]')).to_have_count(1)  # both assets share the node's
    dialog.locator('[name="base"]').fill("7")
    dialog.get_by_role("button", name="Launch run").click()
    page.wait_for_url(re.compile(r"#/runs/[0-9a-f-]{36}$"))
    wait_for_run_status(page, "SUCCESS")
    with graph_server.client() as client:
        run = client.get(f"/api/v1/runs/{run_id_of(page)}").json()
    assert run["run_config"]["ops"] == {"mn": {"config": {"base": 7}}}
    assert sorted(run["asset_keys"]) == [["m"], ["n"]]
